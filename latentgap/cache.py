"""Array files under the workspace, written atomically: a temporary file then a rename.

A crash mid-write leaves the previous state (no file), never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """All arrays of `path`, or None if it does not exist."""
    if not Path(path).exists():
        return None
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
