"""MIMIC-CXR-JPG with CXR-LT-style labels: subject_id, study_id, dicom_id or path, 0/1 findings; single label."""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _as_id,
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

MIMIC_META = {"dicom_id", "path", "subject_id", "study_id", "split", "Split"}


def _index_mimic_cxr(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    need = ["subject_id"] + ([] if "path" in df.columns else ["study_id", "dicom_id"])
    _require(df, need, path, "subject_id plus path, or study_id and dicom_id, and one 0/1 column per finding")
    _no_missing(df, need + (["path"] if "path" in df.columns else []), path)
    findings, ignored = _finding_columns(df, MIMIC_META, path, nan_ok=True)  # blank = not mentioned = 0
    if len(findings) < 2:
        raise LatentgapError(
            f"{path.name} has finding column(s) {findings}; mimic-cxr needs one 0/1 column per finding"
        )
    n_pos = _onehot(df, findings, path, nan_as_zero=True).sum(1)
    keep = n_pos == 1  # single label like the paper: multi-finding and unlabelled studies are dropped, and counted
    if not keep.any():
        raise LatentgapError(f"no row of {path.name} has exactly one positive finding; mimic-cxr is single-label")
    df = df[keep].reset_index(drop=True)
    labels = _onehot(df, findings, path, nan_as_zero=True).argmax(1)
    subject = _as_id(df["subject_id"])
    if "path" in df.columns:
        raw = df["path"].astype(str)
    else:  # MIMIC-CXR-JPG layout: files/p10/p10000032/s50414267/<dicom_id>.jpg
        raw = "files/p" + subject.str[:2] + "/p" + subject + "/s" + _as_id(df["study_id"]) + "/"
        raw = raw + df["dicom_id"].astype(str) + ".jpg"
    split_col = next((c for c in ("split", "Split") if c in df.columns), None)
    split = _split_values(df[split_col], path) if split_col else None
    card = dict(
        groups="subject_id",
        dropped_no_positive=int((n_pos == 0).sum()),
        dropped_several_positive=int((n_pos > 1).sum()),
        ignored_columns=ignored,
    )
    return Index(_rows(_resolve(raw, root, path), labels, subject, split), findings, _image_reader(opt), card)


register(
    Format(
        "mimic-cxr",
        "MIMIC-CXR-JPG with CXR-LT-style labels: subject_id, study_id, dicom_id or path, 0/1 "
        "findings; rows with exactly one positive kept",
        "a CSV with a dicom_id or subject_id column",
        lambda p: _has(p, "dicom_id") or _has(p, "subject_id"),
        _index_mimic_cxr,
        True,
        order=70,
    )
)
