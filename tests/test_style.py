"""The house style's one formatter: `ruff format` and `ruff check` (rules in pyproject.toml) pass on the repo."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["format", "lint"])
def test_ruff_passes(command):
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert out.returncode == 0, f"run `ruff {' '.join(command)} .` and fix:\n{out.stdout[-3000:]}{out.stderr[-1000:]}"
