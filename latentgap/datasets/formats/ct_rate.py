"""CT-RATE: VolumeName + 0/1 findings; NIfTI volumes -> axial slices (or a path column of pre-extracted slices)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.formats._common import (
    NORMAL,
    Format,
    Index,
    Options,
    _finding_columns,
    _has,
    _image_reader,
    _no_missing,
    _onehot,
    _read_csv,
    _require,
    _resolve,
    _rows,
    _split_values,
    register,
)
from latentgap.errors import LatentgapError

CT_PATIENT = re.compile(r"^([A-Za-z]+_\d+)_[A-Za-z]+_\d+$")  # train_12_a_1 -> train_12
CT_NORMALS = {"normal", "no finding", "no_finding"}


def _ct_stem(name: str) -> str:
    return re.sub(r"\.nii(\.gz)?$", "", name)


def _ct_volume_paths(names: pd.Series, root: Path) -> pd.Series:
    """Volume paths relative to `root`: as named, the CT-RATE tree (train/train_1/train_1_a/...), else a search."""
    found, by_name = [], None
    for name in names:
        file = name if re.search(r"\.nii(\.gz)?$", name) else f"{name}.nii.gz"
        tree = re.match(r"^([A-Za-z]+)_(\d+)_([A-Za-z]+)_\d+$", _ct_stem(name))
        candidates = [file] + ([f"{tree[1]}/{tree[1]}_{tree[2]}/{tree[1]}_{tree[2]}_{tree[3]}/{file}"] if tree else [])
        rel = next((c for c in candidates if (root / c).is_file()), None)
        if rel is None:
            by_name = by_name if by_name is not None else {p.name: p for p in sorted(root.rglob("*.nii*"))}
            rel = by_name[file].relative_to(root).as_posix() if file in by_name else file
        found.append(rel)
    return pd.Series(found)


def _index_ct_rate(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["VolumeName"], path, "VolumeName[, path, split] and one 0/1 column per finding")
    _no_missing(df, ["VolumeName"] + (["path"] if "path" in df.columns else []), path)
    findings, ignored = _finding_columns(df, {"VolumeName", "path", "split", "Split"}, path, nan_ok=False)
    if not findings:
        raise LatentgapError(f"{path.name} has no 0/1 finding column; ct-rate needs VolumeName + one per finding")
    onehot = _onehot(df, findings, path)
    n_pos = onehot.sum(1)
    has_normal = any(str(f).lower() in CT_NORMALS for f in findings)
    # single label: one finding keeps it; none is "normal" (unless a normal column exists); several are dropped
    keep = n_pos == 1 if has_normal else n_pos <= 1
    labels = np.where(n_pos == 1, onehot.argmax(1), len(findings))[keep]
    class_names = [str(f) for f in findings] + ([] if has_normal else [NORMAL])
    df = df[keep].reset_index(drop=True)
    stems = df["VolumeName"].astype(str).str.strip().map(_ct_stem)
    groups = stems.map(lambda s: m[1] if (m := CT_PATIENT.match(s)) else s)
    split_col = next((c for c in ("split", "Split") if c in df.columns), None)
    split = _split_values(df[split_col], path) if split_col else None
    lo, hi = readers.window_range(opt.window, readers.DEFAULT_CT_WINDOW) or ("min", "max")
    card = dict(
        groups="patient part of VolumeName (train_12_a_1 -> train_12)",
        dropped_several_positive=int((n_pos > 1).sum()),
        dropped_no_positive=int((n_pos == 0).sum()) if has_normal else 0,
        ignored_columns=ignored,
        window=f"{opt.window or readers.DEFAULT_CT_WINDOW}: {lo}..{hi} HU -> [0, 1]",
    )
    if "path" in df.columns:  # pre-extracted slices, one row each
        card["slices"] = "pre-extracted (path column)"
        return Index(
            _rows(_resolve(df["path"], root, path), labels, groups, split), class_names, _image_reader(opt), card
        )
    sources = _resolve(_ct_volume_paths(df["VolumeName"].astype(str).str.strip(), root), root, path)
    card["slices"] = f"{opt.slices_per_volume} evenly spaced over the central 40% of each volume, axial, anterior up"

    def read(row) -> list[np.ndarray]:
        return readers.decode_volume_slices(row.source, opt.slices_per_volume, opt.window)

    return Index(_rows(sources, labels, groups, split, count=opt.slices_per_volume), class_names, read, card)


register(
    Format(
        "ct-rate",
        "CT-RATE: VolumeName + 0/1 findings; NIfTI volumes -> axial slices (or a path column of pre-extracted slices)",
        "a CSV with a VolumeName column",
        lambda p: _has(p, "VolumeName"),
        _index_ct_rate,
        True,
        order=40,
    )
)
