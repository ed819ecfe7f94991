"""Where the files that ship with latentgap are found: one place, so an installed wheel and a source checkout agree.

- `data_dir()`: the package data (`latentgap/data/`, declared as package data in pyproject.toml; the repository's
  top-level `data` is a link to it): family configs, the embedded zoo, embedded real benchmarks.
- `zoo_dir()`: the embedded autoencoders; `$LATENTGAP_ZOO` points elsewhere (a rebuilt zoo, a shared folder).
- `bench_results_dir()`: measured performance JSON (`python -m latentgap bench`): `$LATENTGAP_BENCH_RESULTS`, else the
  source checkout's `benchmarks/results/` (an installed wheel has none: the Efficiency tab then says so).
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    return Path(str(files("latentgap") / "data"))


def configs_dir() -> Path:
    """Full-size family configs (`NAME.json`), shipped for offline use (no hub access)."""
    return data_dir() / "configs"


def zoo_dir() -> Path:
    return Path(os.environ["LATENTGAP_ZOO"]).expanduser() if os.environ.get("LATENTGAP_ZOO") else data_dir() / "zoo"


def source_checkout() -> Path | None:
    """The repository root when latentgap runs from a source checkout (editable or PYTHONPATH), else None."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() and (root / "latentgap").is_dir() else None


def bench_results_dir() -> Path | None:
    if os.environ.get("LATENTGAP_BENCH_RESULTS"):
        return Path(os.environ["LATENTGAP_BENCH_RESULTS"]).expanduser()
    root = source_checkout()
    return root / "benchmarks" / "results" if root else None


def load_bench_results(directory: Path | None = None) -> dict[str, dict]:
    """Every results file in `directory` (default `bench_results_dir()`): {file stem ("cpu-quick"): results}."""
    directory = directory or bench_results_dir()
    if directory is None:
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(Path(directory).glob("*.json"))}
