"""The paper's CSV: path, id (group), optional Split, and one one-hot 0/1 column per class."""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _as_id,
    _binary,
    _header,
    _image_reader,
    _no_missing,
    _onehot,
    _read_csv,
    _require,
    _resolve,
    _rows,
    _single_label,
    _split_values,
    register,
)
from latentgap.errors import LatentgapError

PAPER_EXPECTED = "path, id (group), optional Split, and one 0/1 column per class"


def _row_index(columns) -> list:
    """Columns that are a saved row index, not classes: `Unnamed: N` (an empty header, as pandas' to_csv writes it)
    and a first column named `index` (as reset_index writes it)."""
    return [c for i, c in enumerate(columns) if str(c).startswith("Unnamed:") or (i == 0 and str(c).lower() == "index")]


def _index_paper_manifest(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["path", "id"], path, PAPER_EXPECTED)
    _no_missing(df, ["path", "id"], path)
    split_col = next((c for c in ("Split", "split") if c in df.columns), None)
    ignored = _row_index(df.columns)
    classes = [c for c in df.columns if c not in ("path", "id", split_col, *ignored)]
    if len(classes) < 2:
        raise LatentgapError(f"{path.name} has class column(s) {classes}; paper-manifest needs {PAPER_EXPECTED}")
    labels = _single_label(_onehot(df, classes, path), df["path"].astype(str), path)
    split = _split_values(df[split_col], path) if split_col else None
    rows = _rows(_resolve(df["path"], root, path), labels, _as_id(df["id"]), split)
    card = dict(groups="id column", split_column=split_col, ignored_columns=[str(c) for c in ignored])
    return Index(rows, [str(c) for c in classes], _image_reader(opt), card)


def _detect_paper_manifest(p: Path) -> bool:
    head = _header(p)
    if head is None or not {"path", "id"} <= set(head.columns):
        return False
    rest = [c for c in head.columns if c not in ("path", "id", "Split", "split", *_row_index(head.columns))]
    return len(rest) >= 2 and all(_binary(head[c], nan_ok=False) for c in rest)


register(
    Format(
        "paper-manifest",
        "the paper's CSV: path, id (group), optional Split, one one-hot column per class",
        "a CSV with path and id columns and at least two 0/1 columns",
        _detect_paper_manifest,
        _index_paper_manifest,
        True,
        order=50,
    )
)
