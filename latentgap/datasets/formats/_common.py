"""What every format plug-in shares: `Options`, `Index`, `Format`, the `register` call and the indexing helpers.

A format only indexes its source (labels, groups, official split, which file yields which images; no pixel read);
the shared pass in `_shared.py` reads the pixels. Messages follow one rule: name the bad value and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.errors import LatentgapError

SHOWN = 3  # offending files named in an error message; the rest are counted
SPLITS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validate": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
IMAGE_KINDS = ("png", "jpeg", "dicom")  # what the folder formats pick up
NORMAL = "normal"  # the class of a multi-label row with no positive finding (ChestMNIST, CT-RATE)


@dataclass(frozen=True)
class Options:
    """How sources become images; validated once so every format can trust it."""

    resolution: int = 64
    window: readers.Window = None  # DICOM / NIfTI intensity window (readers.WINDOWS name, "minmax" or (lo, hi))
    slices_per_volume: int = 4
    frames_per_video: int = 4
    labels: str | None = None  # a label scheme of the format (Format.labels; None: its first); load_path checks it

    def __post_init__(self):
        if not isinstance(self.resolution, int) or self.resolution <= 0 or self.resolution % 8:
            raise LatentgapError(f"resolution {self.resolution} must be a positive multiple of 8")
        for name in ("slices_per_volume", "frames_per_video"):
            if getattr(self, name) < 1:
                raise LatentgapError(f"{name}={getattr(self, name)} must be at least 1")
        readers.window_range(self.window, None)  # raises on an unknown window name


@dataclass
class Index:
    """What a format found before reading any pixel."""

    rows: pd.DataFrame  # one row per source: source, label (int), group (str), split (str | None), count (images)
    class_names: list[str]
    read: Callable  # a row (from rows.itertuples) -> its native images, each (C, H, W) float32 in [0, 1]
    card: dict = field(default_factory=dict)  # its "warnings" (list of str) join the shared pass's warnings
    # a group in two official splits: "refuse" (a split column the user can fix) or "cv" (upstream split folders:
    # the shared pass drops the split, warns, and diagnosis cross-validates by group)
    crossing: str = "refuse"


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    rule: str  # the detection rule in words
    detect: Callable[[Path], bool]  # cheap: names and CSV headers only
    index: Callable[[Path, Path | None, Options], Index]
    csv: bool  # paths come from a CSV and resolve under a data root
    order: int  # detection order: lower is tried first (the first whose rule matches wins)
    labels: tuple[str, ...] = ()  # label schemes the format offers (`labels=`), the first the default; () for none


FORMATS: dict[str, Format] = {}  # name -> Format, kept sorted by `order` (the package imports every plug-in)


def register(fmt: Format) -> Format:
    """Add `fmt` to FORMATS at its detection order; each plug-in module calls this where its format is defined."""
    assert fmt.name not in FORMATS, f"format {fmt.name!r} registered twice"
    assert fmt.order not in {f.order for f in FORMATS.values()}, f"{fmt.name}: order {fmt.order} is taken"
    entries = sorted([*FORMATS.values(), fmt], key=lambda f: f.order)
    FORMATS.clear()
    FORMATS.update((f.name, f) for f in entries)
    return fmt


# --- messages and shared checks ---


def _listing(what: str, names: list, fix: str) -> LatentgapError:
    """'3 unreadable files: a.png, b.png, c.png and 2 more; fix' -- the first few named, all counted."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return LatentgapError(f"{len(names)} {what}: {', '.join(map(str, names[:SHOWN]))}{more}; {fix}")


def _rows(sources, labels, groups, split=None, count: int = 1, **extra) -> pd.DataFrame:
    n = len(sources)
    split = [None] * n if split is None else list(split)
    return pd.DataFrame(
        dict(
            source=list(sources),
            label=np.asarray(labels, dtype=np.int64),
            group=np.asarray(groups).astype(str),
            split=split,
            count=count,
            **extra,
        )
    )


def _read_csv(path: Path, nrows: int | None = None) -> pd.DataFrame:
    try:
        return pd.read_csv(path, nrows=nrows)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LatentgapError(f"cannot read CSV {path}: {e}; give a comma-separated file with a header row") from e


def _header(path: Path) -> pd.DataFrame | None:
    """The first rows of a CSV for detection, or None if `path` is not a readable CSV."""
    if not (path.is_file() and path.name.lower().endswith((".csv", ".csv.gz"))):
        return None
    try:
        return _read_csv(path, nrows=200)
    except LatentgapError:
        return None


def _require(df: pd.DataFrame, columns: list[str], csv: Path, expected: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise LatentgapError(
            f"{csv.name} lacks column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))})"
            f"; expected {expected}"
        )


def _no_missing(df: pd.DataFrame, columns: list[str], csv: Path) -> None:
    for c in columns:
        empty = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if empty.any():
            rows = [f"row {i + 2}" for i in np.flatnonzero(empty)]  # +2: 1-based, after the header line
            raise _listing(f"rows of {csv.name} without a {c}", rows, f"fill in {c} or drop those rows")


def _binary(col: pd.Series, nan_ok: bool) -> bool:
    v = pd.to_numeric(col, errors="coerce")
    if (v.isna() & col.notna()).any() or (not nan_ok and v.isna().any()):
        return False
    return bool(v.dropna().isin([0, 1]).all())


def _onehot(df: pd.DataFrame, columns: list[str], csv: Path, nan_as_zero: bool = False) -> np.ndarray:
    """(N, K) int64 0/1 block of `columns`; anything else (text, -1, 2, blanks unless `nan_as_zero`) is an error."""
    bad = [c for c in columns if not _binary(df[c], nan_as_zero)]
    if bad:
        raise _listing(
            f"class columns of {csv.name} with values other than 0/1",
            bad,
            "one-hot class columns must hold only 0 or 1",
        )
    return df[columns].apply(pd.to_numeric).fillna(0).to_numpy(dtype=np.int64)


def _finding_columns(df: pd.DataFrame, exclude: set[str], csv: Path, nan_ok: bool) -> tuple[list[str], list[str]]:
    """(0/1 finding columns, ignored other columns); CheXpert-style -1 'uncertain' columns are an error."""
    findings, ignored, uncertain = [], [], []
    for c in df.columns:
        if c in exclude:
            continue
        v = pd.to_numeric(df[c], errors="coerce")
        if _binary(df[c], nan_ok):
            findings.append(c)
        elif (v.notna() == df[c].notna()).all() and v.dropna().isin([-1, 0, 1]).all():
            uncertain.append(c)
        else:
            ignored.append(str(c))
    if uncertain:
        raise _listing(
            f"finding columns of {csv.name} with -1 (uncertain) values",
            uncertain,
            "map uncertain labels to 0 or 1 first (e.g. the U-zeros or U-ones policy)",
        )
    return findings, ignored


def _single_label(onehot: np.ndarray, names: pd.Series, csv: Path) -> np.ndarray:
    """(N,) class index of one-hot rows; a row with no or several positive columns is an error."""
    n_pos = onehot.sum(1)
    for what, bad in (("no positive class column", n_pos == 0), ("several positive class columns", n_pos > 1)):
        if bad.any():
            raise _listing(
                f"rows of {csv.name} with {what}",
                list(names[bad]),
                "give every row exactly one 1 among the class columns",
            )
    return onehot.argmax(1)


def _split_values(col: pd.Series, csv: Path) -> np.ndarray:
    mapped = col.astype(str).str.strip().str.lower().map(SPLITS)
    if mapped.isna().any():
        bad = sorted({str(v) for v in col[mapped.isna()]})
        raise _listing(f"unknown {col.name} values in {csv.name}", bad, "use train, val (or valid/validate) or test")
    return mapped.to_numpy().astype(str)


def _resolve(raw: pd.Series, root: Path, csv: Path) -> list[Path]:
    """Paths of `raw` under `root`; one escaping it (../ or an absolute path elsewhere) is refused, not read."""
    base = os.path.abspath(root)
    out, escaped = [], []
    for p in raw.astype(str):
        full = os.path.abspath(os.path.join(base, p))  # an absolute p replaces base; lexical, so symlinks still work
        if os.path.commonpath([base, full]) != base:
            escaped.append(p)
        out.append(Path(full))
    if escaped:
        raise _listing(
            f"paths in {csv.name} escaping the data root {root}",
            escaped,
            "keep every image under the data root (or pass a data root that holds them)",
        )
    return out


def _as_id(col: pd.Series) -> pd.Series:
    """Ids as strings; a numeric column read as float (because of blanks elsewhere) loses its '.0'."""
    if pd.api.types.is_float_dtype(col) and (col.dropna() % 1 == 0).all():
        return col.astype("Int64").astype(str)
    return col.astype(str).str.strip()


def _subdirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise LatentgapError(
            f"{folder} is not a folder; the folder formats (image-folder, cardium) take the root folder"
        )
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _unwrap(folder: Path, fits: Callable[[Path], bool]) -> Path | None:
    """`folder` if `fits` it, else its only subfolder if that fits (a wrapper, as archives unpack), else None."""
    if not folder.is_dir():
        return None
    if fits(folder):
        return folder
    dirs = _subdirs(folder)
    return dirs[0] if len(dirs) == 1 and fits(dirs[0]) else None


def _image_files(folder: Path) -> tuple[list[Path], int]:
    """Supported image files under `folder` (recursive, hidden entries skipped), and how many other files."""
    files, other = [], 0
    for f in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in f.relative_to(folder).parts) or not f.is_file():
            continue
        if readers.file_kind(f) in IMAGE_KINDS:
            files.append(f)
        else:
            other += 1
    return files, other


def _image_reader(opt: Options) -> Callable:
    def read(row) -> list[np.ndarray]:
        index = getattr(row, "slice", None)
        return [readers.decode_image(row.source, opt.window, None if pd.isna(index) else int(index))]

    return read


def _has(path: Path, *columns: str) -> bool:
    head = _header(path)
    return head is not None and all(c in head.columns for c in columns)
