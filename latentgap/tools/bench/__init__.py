"""`python -m latentgap bench`: latentgap's own performance numbers, measured side by side in one run.

Sections (one module each): classifiers (latent vs image, the paper's 64x / 120x claim), encoding, families
(full-size encode + decode throughput of every AE family), projection, store, dashboard, page, ray, end_to_end.
Absolute times on shared CPUs are noise, so figures are medians with their repetitions and spread, and
comparisons are ratios of medians from the same run. Results are JSON files in
`benchmarks/results/<device>-<quick|full>.json`; `report.py` renders the README tables from them.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path

from latentgap.resources import bench_results_dir

SECTIONS = ("classifiers", "encoding", "families", "projection", "store", "dashboard", "page", "ray", "end_to_end")
HEADLINE_KEYS = ("latent_vs_image.throughput_ratio", "latent_vs_image.memory_ratio", "encoder.flop_fraction")
# the source checkout's benchmarks/results (or $LATENTGAP_BENCH_RESULTS); an installed wheel writes under the cwd
RESULTS_DIR = bench_results_dir() or Path("benchmarks") / "results"


def machine_info(device: str, note: str | None) -> dict:
    """What the figures were measured on: CPU model and cores, threads, load, GPU, library versions."""
    import torch

    from latentgap.diagnose import versions

    cpu = platform.processor()
    if Path("/proc/cpuinfo").exists():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    info = dict(
        cpu=cpu,
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
        load_average_start=list(os.getloadavg()),
        device=device,
        note=note,
        versions=versions(),
    )
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["gpu_memory_gib"] = torch.cuda.get_device_properties(0).total_memory / 2**30
    return info


def headline(results: dict) -> dict:
    """The three named figures: the first latent-vs-image comparison (the paper's SD-latent pair when the
    paper cases ran) and the encoder's FLOP fraction; None where its section did not run."""
    comparisons = results.get("classifiers", {}).get("comparisons", [])
    first = comparisons[0] if comparisons else {}
    return {
        "latent_vs_image.throughput_ratio": first.get("train_throughput_ratio"),
        "latent_vs_image.memory_ratio": first.get("memory_ratio"),
        "latent_vs_image.pair": f"{first['latent']} vs {first['image']}" if first else None,
        "encoder.flop_fraction": results.get("encoding", {}).get("flop_fraction"),
    }


def _section(name: str, workdir: Path, device: str, quick: bool, results: dict, pyinstrument: Path | None):
    from latentgap.tools.bench import (
        classifiers,
        dashboard,
        encoding,
        end_to_end,
        families,
        page,
        projection,
        ray_workers,
        store,
    )

    if name == "classifiers":
        return classifiers.run(workdir, device, quick)
    if name == "encoding":
        return encoding.run(workdir, device, quick)
    if name == "families":
        return families.run(device, quick)
    if name == "projection":
        return projection.run(quick)
    if name == "store":
        return store.run(workdir, quick)
    if name == "dashboard":
        if "store" not in results:  # the dashboard needs a populated store: a small one when run alone
            results["store"] = store.run(workdir, quick, n_metric_rows=10_000, n_projection_points=1_000, reps=1)
        written = results["store"]
        return dashboard.run(Path(written["home"]), written["written"]["newest_run"], quick)
    if name == "page":
        return page.run(workdir, quick)
    if name == "ray":
        return ray_workers.run(workdir, quick)
    return end_to_end.run(workdir, device, quick, profile_to=pyinstrument)


def run_bench(
    quick: bool,
    device: str = "auto",
    sections: tuple[str, ...] = SECTIONS,
    note: str | None = None,
    pyinstrument: Path | None = None,
    on_section=print,
) -> dict:
    """Run `sections` in a temporary workspace and return the results (see `write_results`)."""
    from latentgap.errors import LatentgapError
    from latentgap.spec import resolve_device

    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise LatentgapError(
            f"unknown bench section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}"
        )
    device = resolve_device(device)
    if device == "mps":
        raise LatentgapError("--device mps: the bench times CUDA or CPU only; use --device cuda or cpu")
    results = dict(
        mode="quick" if quick else "full",
        device=device,
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        machine=machine_info(device, note),
        section_seconds={},
    )
    with tempfile.TemporaryDirectory(prefix="latentgap-bench-") as tmp:
        for name in SECTIONS:
            if name not in sections:
                continue
            on_section(f"[bench] {name} ...")
            t0 = time.perf_counter()
            results[name] = _section(name, Path(tmp), device, quick, results, pyinstrument)
            results["section_seconds"][name] = round(time.perf_counter() - t0, 1)
    results.get("store", {}).pop("home", None)  # a deleted temporary folder
    results["machine"]["load_average_end"] = list(os.getloadavg())
    results["total_seconds"] = round(sum(results["section_seconds"].values()), 1)
    results["headline"] = headline(results)
    return results


def results_name(results: dict) -> str:
    return f"{results['device']}-{results['mode']}.json"


def write_results(results: dict, path: Path | None = None) -> Path:
    """JSON to `path` (default benchmarks/results/<device>-<quick|full>.json); NaN is written as null."""
    path = Path(path) if path else RESULTS_DIR / results_name(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(results), indent=1) + "\n")
    return path


def _finite(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def load_results(directory: Path = RESULTS_DIR) -> dict[str, dict]:
    """Every results file in `directory`: {file stem ("cpu-quick"): results}, sorted by name."""
    from latentgap.resources import load_bench_results

    return load_bench_results(Path(directory))
