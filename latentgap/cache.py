"""Array files under the workspace, written atomically: a temporary file then a rename.

A crash mid-write leaves the previous state (no file), never a half-written one; a write that fails (disk full,
read-only folder) is a LatentgapError and leaves no file either. A cache file that cannot be read (damaged on
disk) counts as absent and is removed, so it is recomputed.
"""

from __future__ import annotations

import errno
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from latentgap.errors import LatentgapError


def atomic_savez(path: Path, compress: bool = False, **arrays: np.ndarray) -> None:
    """`arrays` to `path` (.npz, zip-deflated with `compress`), complete or not at all."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".npz.tmp")
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise _write_error(path, e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_error(path: Path, e: OSError) -> LatentgapError:
    full = e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    fix = "free disk space" if full else "make the workspace writable"
    return LatentgapError(f"cannot write the cache file {path.name} ({e.strerror or e}); {fix} or use another --home")


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """All arrays of `path`, or None if it does not exist or is unreadable (then it is removed)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
