"""Real datasets on disk as data: one registry entry per layout, `detect_format(path)` and `load_path(...) -> Dataset`.

Each layout is one plug-in module here that registers its `Format` where it is defined (timm's `register_model`);
`FORMATS` holds them in detection order. A format only indexes its source (labels, groups, official split, which
file yields which images; no pixel read). One shared pass (`_shared.py`) then keeps `max_images` whole groups, reads
and resizes every image (readers.py) and checks the result. Single labels follow the paper: one class per image,
multi-label rows handled as each format says. Loading writes nothing anywhere: no cache, no partial files.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from latentgap.datasets import readers
from latentgap.datasets.dataset import Dataset
from latentgap.datasets.formats import (  # noqa: F401 -- each plug-in registers itself on import
    cardium,
    chest_xray,
    ct_rate,
    echonet,
    ham10000,
    image_folder,
    isic2019,
    manifest,
    medmnist,
    mimic_cxr,
    paper_manifest,
    sars_cov2_ct,
)
from latentgap.datasets.formats._common import FORMATS, SPLITS, Format, Index, Options, register
from latentgap.datasets.formats._shared import _materialize
from latentgap.datasets.formats.cardium import CARDIUM_CLASSES
from latentgap.datasets.formats.echonet import ECHONET_CLASSES, EF_THRESHOLD
from latentgap.datasets.formats.isic2019 import ISIC_CLASSES
from latentgap.datasets.formats.medmnist import MEDMNIST_CLASSES
from latentgap.errors import LatentgapError

__all__ = [
    "CARDIUM_CLASSES",
    "ECHONET_CLASSES",
    "EF_THRESHOLD",
    "FORMATS",
    "ISIC_CLASSES",
    "MEDMNIST_CLASSES",
    "SPLITS",
    "Format",
    "Index",
    "Options",
    "detect_format",
    "get_format",
    "inspect_path",
    "load_path",
    "register",
]


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise LatentgapError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return FORMATS[name]


def detect_format(path: str | Path) -> str:
    """The name of the first format in FORMATS whose detection rule matches `path` (a file or folder)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise LatentgapError(f"{path} does not exist; give a dataset file or folder")
    if path.is_dir() and not any(f.is_file() for f in path.rglob("*")):
        raise LatentgapError(
            f"{path} is an empty folder; put the images in class subfolders ({path.name}/CLASS/IMAGE.png) or give "
            "a manifest CSV"
        )
    for fmt in FORMATS.values():
        if fmt.detect(path):
            return fmt.name
    raise LatentgapError(f"cannot tell the format of {path}: tried {', '.join(FORMATS)}; name one with --format NAME")


def load_path(
    path: str | Path,
    format: str | None = None,
    data_root: str | Path | None = None,
    resolution: int = 64,
    max_images: int | None = None,
    *,
    window: readers.Window = None,
    slices_per_volume: int = 4,
    frames_per_video: int = 4,
    labels: str | None = None,
) -> Dataset:
    """A real dataset on disk -> Dataset with images (N, C, R, R) float32 in [0, 1], R = `resolution`.

    `format` is a FORMATS name (default: detected); `data_root` is where a CSV's relative paths resolve
    (default: the CSV's folder; CSV formats only); `max_images` keeps at most that many images, whole groups in
    a seeded shuffle. `window` sets the DICOM/NIfTI intensity window; `slices_per_volume` / `frames_per_video`
    how many axial slices (CT-RATE volumes) or frames (EchoNet videos) each source yields; `labels` picks a label
    scheme where the format has several (Format.labels; chest-xray: normal-bacteria-virus). Writes nothing.
    """
    opt = Options(resolution, window, slices_per_volume, frames_per_video, labels)
    path, fmt, root = _prepare(path, format, data_root, opt, max_images)
    return _materialize(path, fmt, fmt.index(path, root, opt), opt, max_images, root)


def _prepare(
    path: str | Path, format: str | None, data_root: str | Path | None, opt: Options, max_images: int | None
) -> tuple[Path, Format, Path]:
    """The checks every load makes before indexing: (absolute path, its Format, the data root)."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    if not path.exists():
        raise LatentgapError(f"{path} does not exist; give a dataset file or folder")
    fmt = get_format(format if format is not None else detect_format(path))
    if max_images is not None and max_images < 1:
        raise LatentgapError(f"max_images={max_images} must be at least 1 (or None for all)")
    if opt.labels is not None and opt.labels not in fmt.labels:
        takes = f"takes labels {', '.join(fmt.labels)}" if fmt.labels else "has one label scheme: drop labels"
        raise LatentgapError(f"labels={opt.labels!r} does not apply to {fmt.name}; it {takes}")
    if data_root is not None and not fmt.csv:
        raise LatentgapError(f"a data root applies to CSV formats only, not {fmt.name}; its files sit under {path}")
    root = (
        Path(os.path.abspath(Path(data_root).expanduser()))
        if data_root is not None
        else (path if path.is_dir() else path.parent)
    )
    if not root.is_dir():
        raise LatentgapError(f"data root {root} is not a folder; give the folder the CSV's paths are relative to")
    return path, fmt, root


def inspect_path(
    path: str | Path, format: str | None = None, data_root: str | Path | None = None, labels: str | None = None
) -> dict:
    """What `load_path` would give, read and hashed but neither resized nor kept: the `data inspect` summary.

    format, images, classes (name -> images), groups, duplicate_images, duplicate_groups_merged,
    official_split (None, or images per train/val/test when diagnosis would use it), split_on_disk (the split the
    source declares, used or not), groups_crossing_split, synthetic (False), warnings, seconds (wall time of the read).
    """
    start = time.perf_counter()
    opt = Options(labels=labels)
    path, fmt, root = _prepare(path, format, data_root, opt, None)
    d = _materialize(path, fmt, fmt.index(path, root, opt), opt, None, root, pixels=False)
    c = d.card
    keys = (
        "duplicate_images",
        "duplicate_groups_merged",
        "duplicate_label_conflicts",
        "official_split",
        "split_on_disk",
        "groups_crossing_split",
    )
    return dict(
        path=c["source"],
        format=c["format"],
        images=c["n_images"],
        classes=c["class_counts"],
        groups=c["n_groups"],
        **{k: c[k] for k in keys},
        synthetic=d.synthetic,
        warnings=c["warnings"],
        seconds=round(time.perf_counter() - start, 1),
    )
