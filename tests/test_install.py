"""A non-editable install works: build the wheel, install it into a fresh venv, run the CLI from another folder.

The fresh venv borrows the test environment's third-party packages (a .pth line) so the test needs no network; only
latentgap itself is installed, from the wheel, so configs and the zoo must come from its package data.
"""

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args, cwd, env, timeout=600):
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_repo(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LATENTGAP_ZOO", "LATENTGAP_HOME")}
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        tmp_path,
        env,
    )
    wheel = next((tmp_path / "dist").glob("latentgap-*.whl"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], tmp_path, env)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path, env)
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib.stdout.strip()) / "test-deps.pth").write_text("\n".join(deps) + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([str(python), "-c", "import latentgap; print(latentgap.__file__)"], elsewhere, env).stdout
    assert str(venv) in where and str(ROOT) not in where, where

    zoo = json.loads(_run([str(python), "-m", "latentgap", "zoo", "list", "--json"], elsewhere, env).stdout)
    assert zoo and all(m["built"] for m in zoo), [m["name"] for m in zoo if not m["built"]]
    data = json.loads(_run([str(python), "-m", "latentgap", "data", "list", "--json"], elsewhere, env).stdout)
    assert {"phantom-chest", "phantom-ct"} <= {d["name"] for d in data}
    _run(
        [
            str(python),
            "-m",
            "latentgap",
            "diagnose",
            "--ae",
            "zoo:sd-vae-mini",
            "--dataset",
            "phantom-chest",
            "--profile",
            "smoke",
            "--max-samples",
            "120",
            "--device",
            "cpu",
            "--home",
            str(elsewhere / "ws"),
        ],
        elsewhere,
        env,
    )
    gap = json.loads(
        _run(
            [str(python), "-m", "latentgap", "results", "--kind", "gap", "--json", "--home", str(elsewhere / "ws")],
            elsewhere,
            env,
        ).stdout
    )
    assert len(gap) == 1 and gap[0]["profile"] == "smoke"
