"""SARS-CoV-2 CT-scan dataset (Soares et al., medRxiv 2020; Kaggle): `COVID/` and `non-COVID/` folders of PNG slices.

The folder names are matched in any case, directly or under one wrapper folder. The release has no patient ids
(several slices per patient upstream), so every image is its own group and the card's warnings say so plainly.
"""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _image_files,
    _image_reader,
    _rows,
    _subdirs,
    _unwrap,
    register,
)
from latentgap.errors import LatentgapError

SARS_CLASSES = ["COVID", "non-COVID"]
NO_PATIENT_IDS = (
    "no patient ids: cross-validation is by image, so slices of one patient can straddle train and "
    "test (leakage); results are optimistic"
)


def _class_folders(folder: Path) -> dict[str, Path] | None:
    """{"COVID": dir, "non-COVID": dir} when the subfolders of `folder` are exactly those two (any case)."""
    dirs = {d.name.lower(): d for d in _subdirs(folder)}
    return {c: dirs[c.lower()] for c in SARS_CLASSES} if dirs.keys() == {c.lower() for c in SARS_CLASSES} else None


def _index_sars_cov2_ct(path: Path, root: None, opt: Options) -> Index:
    folder = _unwrap(path, lambda f: _class_folders(f) is not None)
    if folder is None:
        raise LatentgapError(
            f"{path} does not hold exactly COVID/ and non-COVID/; sars-cov2-ct expects root/{{COVID,non-COVID}}/*.png"
        )
    sources, labels, groups, other = [], [], [], 0
    for label, d in enumerate(_class_folders(folder).values()):
        files, n_other = _image_files(d)
        other += n_other
        sources += files
        labels += [label] * len(files)
        groups += [f.relative_to(folder).as_posix() for f in files]
    card = dict(groups="one per image (the release has no patient ids)", skipped_files=other, warnings=[NO_PATIENT_IDS])
    if folder != path:
        card["wrapper"] = f"read {folder.relative_to(path).as_posix()}/ inside {path.name}/"
    return Index(_rows(sources, labels, groups), list(SARS_CLASSES), _image_reader(opt), card)


def _detect_sars_cov2_ct(p: Path) -> bool:
    return _unwrap(p, lambda f: _class_folders(f) is not None) is not None


register(
    Format(
        "sars-cov2-ct",
        "SARS-CoV-2 CT-scan dataset (Kaggle): root/{COVID,non-COVID}/*.png; no patient ids, "
        "so one group per image (leaky, optimistic)",
        "a folder (or a single wrapper above it) whose subfolders are exactly COVID and non-COVID (any case)",
        _detect_sars_cov2_ct,
        _index_sars_cov2_ct,
        False,
        order=84,
    )
)
