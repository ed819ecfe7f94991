"""HAM10000 dermoscopy: `HAM10000_metadata.csv` + `HAM10000_images/` (or `HAM10000_images_part_1/` + `_part_2/`).

Tschandl, Rosendahl, Kittler, Sci. Data 5:180161, 2018. Metadata columns lesion_id, image_id, dx, dx_type, age, sex,
localization[, dataset] (the Dataverse release adds `dataset` and writes image_id with `.jpg`; both are read). One
group per lesion (`lesion_id`: several images of one lesion never straddle a split); 7 classes named by dx. A
metadata row whose image is in none of the image folders is left out, counted, and named in a warning.
"""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _has,
    _image_reader,
    _listing,
    _no_missing,
    _read_csv,
    _require,
    _rows,
    _unwrap,
    register,
)
from latentgap.errors import LatentgapError

HAM_CSV = "HAM10000_metadata.csv"
HAM_FOLDERS = ("HAM10000_images", "HAM10000_images_part_1", "HAM10000_images_part_2")
HAM_CLASSES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]  # dx codes, in the order of the release's tables
HAM_EXPECTED = "lesion_id, image_id, dx[, dx_type, age, sex, localization, dataset]"


def _csv(p: Path) -> Path | None:
    """The metadata CSV: `p` itself (named so, or with the lesion_id, image_id, dx columns) or inside `p`."""
    if p.is_dir():
        folder = _unwrap(p, lambda f: (f / HAM_CSV).is_file())
        return folder / HAM_CSV if folder else None
    return p if p.name == HAM_CSV or _has(p, "lesion_id", "image_id", "dx") else None


def _index_ham10000(path: Path, root: None, opt: Options) -> Index:
    csv = _csv(path)
    if csv is None:
        raise LatentgapError(
            f"no {HAM_CSV} in {path}; ham10000 expects {HAM_CSV} beside {' or '.join(HAM_FOLDERS[:2])}"
        )
    df = _read_csv(csv)
    _require(df, ["lesion_id", "image_id", "dx"], csv, HAM_EXPECTED)
    _no_missing(df, ["lesion_id", "image_id", "dx"], csv)
    dx = df["dx"].astype(str).str.strip().str.lower()
    unknown = sorted(set(dx) - set(HAM_CLASSES))
    if unknown:
        raise _listing(f"unknown dx values in {csv.name}", unknown, f"HAM10000 has {', '.join(HAM_CLASSES)}")
    folders = [csv.parent / f for f in HAM_FOLDERS if (csv.parent / f).is_dir()]
    files = {f.stem: f for d in folders for f in sorted(d.iterdir()) if f.suffix.lower() in (".jpg", ".jpeg")}
    ids = df["image_id"].astype(str).str.strip().str.replace(r"\.jpe?g$", "", regex=True, case=False)
    found = ids.isin(files.keys()).to_numpy()
    if not found.any():
        raise LatentgapError(
            f"none of the {len(df)} images in {csv.name} is in {', '.join(HAM_FOLDERS)}; put the "
            "JPEGs there (image_id.jpg)"
        )
    missing = ids[~found].tolist()
    label = {c: i for i, c in enumerate(HAM_CLASSES)}
    rows = _rows([files[i] for i in ids[found]], dx[found].map(label), df["lesion_id"][found].astype(str).str.strip())
    card = dict(
        groups="lesion_id",
        image_folders=[d.name for d in folders],
        missing_images=len(missing),
        unlisted_images=len(files.keys() - set(ids)),
        warnings=[],
    )
    if missing:
        card["warnings"].append(
            f"{len(missing)} of {len(df)} rows of {csv.name} have no image (e.g. {missing[0]}); they are left out"
        )
    return Index(rows, list(HAM_CLASSES), _image_reader(opt), card)


register(
    Format(
        "ham10000",
        f"HAM10000 dermoscopy: {HAM_CSV} ({HAM_EXPECTED}) + JPEGs in HAM10000_images/ (or "
        "_part_1/ + _part_2/); group = lesion_id, 7 dx classes",
        f"a folder holding {HAM_CSV} (or a wrapper above it), or that CSV (lesion_id, image_id, dx columns)",
        lambda p: _csv(p) is not None,
        _index_ham10000,
        False,
        order=35,
    )
)
