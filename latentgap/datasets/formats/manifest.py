"""Generic CSV `path,label[,split,patient_id[,slice]]`: PNG, JPEG, DICOM or NIfTI slices."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _as_id,
    _has,
    _image_reader,
    _no_missing,
    _read_csv,
    _require,
    _resolve,
    _rows,
    _split_values,
    register,
)

MANIFEST_EXPECTED = "path,label[,split,patient_id[,slice]]"


def _natural(names) -> list[str]:
    return sorted(names, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


def _index_manifest(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["path", "label"], path, MANIFEST_EXPECTED)
    _no_missing(df, ["path", "label"] + [c for c in ("split", "patient_id") if c in df.columns], path)
    text = _as_id(df["label"])
    class_names = _natural(text.unique().tolist())
    labels = text.map({c: i for i, c in enumerate(class_names)}).to_numpy()
    sources = _resolve(df["path"], root, path)
    groups = _as_id(df["patient_id"]) if "patient_id" in df.columns else df["path"].astype(str)
    split = _split_values(df["split"], path) if "split" in df.columns else None
    extra = dict(slice=pd.to_numeric(df["slice"]).to_numpy()) if "slice" in df.columns else {}
    card = dict(groups="patient_id column" if "patient_id" in df.columns else "one per image (no patient_id column)")
    if any(readers.file_kind(p) == "nifti" for p in sources):
        card["nifti"] = "a volume gives its middle axial slice unless the slice column names one"
    return Index(_rows(sources, labels, groups, split, **extra), class_names, _image_reader(opt), card)


register(
    Format(
        "manifest",
        f"generic CSV {MANIFEST_EXPECTED}; PNG, JPEG, DICOM or NIfTI slices",
        "a CSV with path and label columns",
        lambda p: _has(p, "path", "label"),
        _index_manifest,
        True,
        order=60,
    )
)
