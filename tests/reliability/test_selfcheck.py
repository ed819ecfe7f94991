"""`python -m latentgap selfcheck`: the JSON contract and the exit code, on a fast subset of scenarios."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"faults_injected", "faults_survived", "inputs_tried", "inputs_refused_correctly", "results_lost", "scenarios"}


def _selfcheck(*args):
    return subprocess.run(
        [sys.executable, "-m", "latentgap", "selfcheck", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_selfcheck_json_counts_faults_and_inputs():
    out = _selfcheck("--json", "--scenario", "stores", "--scenario", "uploads")
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert KEYS <= report.keys() and report["passed"] and report["results_lost"] == 0
    assert report["faults_injected"] == report["faults_survived"] == 5
    assert report["inputs_tried"] == 15 and report["inputs_refused_correctly"] == 8
    assert [(s["name"], s["kind"], s["passed"]) for s in report["scenarios"]] == [
        ("corrupt, truncated, foreign, older and newer stores", "fault", True),
        ("upload names", "input", True),
    ]


def test_selfcheck_table_and_unknown_scenario():
    out = _selfcheck("--scenario", "images")
    assert out.returncode == 0 and "results lost 0" in out.stdout and "ok  hostile and unusual images" in out.stderr
    out = _selfcheck("--scenario", "nope")
    assert out.returncode == 2 and out.stderr.strip().endswith(
        "kill-worker, kill-app, oom, disk-full, read-only, "
        "concurrent-jobs, stores, checkpoints, fuzz, images, "
        "uploads, non-finite"
    )
