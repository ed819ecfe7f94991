"""ISIC 2019: the ground-truth CSV + JPEGs (+ the metadata CSV for lesion groups); UNK rows dropped."""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _has,
    _header,
    _image_reader,
    _no_missing,
    _onehot,
    _read_csv,
    _require,
    _resolve,
    _rows,
    _single_label,
    register,
)

ISIC_GT = "ISIC_2019_Training_GroundTruth.csv"
ISIC_META = "ISIC_2019_Training_Metadata.csv"
ISIC_IMAGES = "ISIC_2019_Training_Input"
ISIC_CLASSES = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC"]


def _index_isic2019(path: Path, root: Path, opt: Options) -> Index:
    csv = path / ISIC_GT if path.is_dir() else path
    df = _read_csv(csv)
    _require(df, ["image", *ISIC_CLASSES], csv, f"image, {', '.join(ISIC_CLASSES)}[, UNK]")
    _no_missing(df, ["image"], csv)
    onehot = _onehot(df, ISIC_CLASSES + (["UNK"] if "UNK" in df.columns else []), csv)
    unk = onehot[:, len(ISIC_CLASSES) :].any(1)
    zero = onehot.sum(1) == 0
    keep = ~unk & ~zero
    df, onehot = df[keep].reset_index(drop=True), onehot[keep, : len(ISIC_CLASSES)]
    labels = _single_label(onehot, df["image"].astype(str), csv)
    folder = f"{ISIC_IMAGES}/" if (root / ISIC_IMAGES).is_dir() else ""
    sources = _resolve(folder + df["image"].astype(str) + ".jpg", root, csv)
    groups, grouping = df["image"].astype(str), "image id (no metadata CSV)"
    if (csv.parent / ISIC_META).is_file():
        meta = _read_csv(csv.parent / ISIC_META)
        _require(meta, ["image", "lesion_id"], csv.parent / ISIC_META, "image, age_approx, ..., lesion_id, sex")
        lesion = df["image"].map(meta.drop_duplicates("image").set_index("image")["lesion_id"])
        grouping = f"lesion_id from {ISIC_META}; image id for {int(lesion.isna().sum())} images without one"
        groups = lesion.fillna(df["image"]).astype(str)
    card = dict(
        groups=grouping,
        images_folder=folder or ".",
        dropped_unk=int(unk.sum()),
        dropped_all_zero=int((zero & ~unk).sum()),
    )
    return Index(_rows(sources, labels, groups), list(ISIC_CLASSES), _image_reader(opt), card)


def _detect_isic(p: Path) -> bool:
    if p.is_dir():
        return (p / ISIC_GT).is_file()
    return _header(p) is not None and (p.name == ISIC_GT or _has(p, "image", "MEL", "NV"))


register(
    Format(
        "isic2019",
        f"ISIC 2019: {ISIC_GT} + JPEGs (+ {ISIC_META} for lesion groups); UNK rows dropped",
        f"a CSV named {ISIC_GT} or with image, MEL, NV columns, or a folder holding it",
        _detect_isic,
        _index_isic2019,
        True,
        order=30,
    )
)
