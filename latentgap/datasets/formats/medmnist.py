"""MedMNIST+ `.npz`: train/val/test images and labels; the official split is the three parts."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from latentgap.datasets.formats._common import NORMAL, Format, Index, Options, _listing, _rows, register
from latentgap.errors import LatentgapError

_ORGANS = [
    "bladder",
    "femur-left",
    "femur-right",
    "heart",
    "kidney-left",
    "kidney-right",
    "liver",
    "lung-left",
    "lung-right",
    "pancreas",
    "spleen",
]
MEDMNIST_CLASSES = {  # label names of medmnist/info.py (MedMNIST v2 / MedMNIST+)
    "pathmnist": [
        "adipose",
        "background",
        "debris",
        "lymphocytes",
        "mucus",
        "smooth muscle",
        "normal colon mucosa",
        "cancer-associated stroma",
        "colorectal adenocarcinoma epithelium",
    ],
    "chestmnist": [
        "atelectasis",
        "cardiomegaly",
        "effusion",
        "infiltration",
        "mass",
        "nodule",
        "pneumonia",
        "pneumothorax",
        "consolidation",
        "edema",
        "emphysema",
        "fibrosis",
        "pleural",
        "hernia",
    ],
    "dermamnist": [
        "actinic keratoses and intraepithelial carcinoma",
        "basal cell carcinoma",
        "benign keratosis-like lesions",
        "dermatofibroma",
        "melanoma",
        "melanocytic nevi",
        "vascular lesions",
    ],
    "octmnist": ["choroidal neovascularization", "diabetic macular edema", "drusen", "normal"],
    "pneumoniamnist": ["normal", "pneumonia"],
    "retinamnist": ["0", "1", "2", "3", "4"],
    "breastmnist": ["malignant", "normal, benign"],
    "bloodmnist": [
        "basophil",
        "eosinophil",
        "erythroblast",
        "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
        "lymphocyte",
        "monocyte",
        "neutrophil",
        "platelet",
    ],
    "tissuemnist": [
        "Collecting Duct, Connecting Tubule",
        "Distal Convoluted Tubule",
        "Glomerular endothelial cells",
        "Interstitial endothelial cells",
        "Leukocytes",
        "Podocytes",
        "Proximal Tubule Segments",
        "Thick Ascending Limb",
    ],
    "organamnist": _ORGANS,
    "organcmnist": _ORGANS,
    "organsmnist": _ORGANS,
}


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise LatentgapError(f"cannot read {path}: {e}; give a MedMNIST .npz (train_images, train_labels, ...)") from e


def _index_medmnist(path: Path, root: None, opt: Options) -> Index:
    arrays = _npz_arrays(path)
    parts = [p for p in ("train", "val", "test") if f"{p}_images" in arrays]
    if not parts or any(f"{p}_labels" not in arrays for p in parts):
        raise LatentgapError(
            f"{path.name} holds {sorted(arrays)}; medmnist needs train_images/train_labels (and val_*, test_*)"
        )
    images = {p: arrays[f"{p}_images"] for p in parts}
    for p, x in images.items():
        n = len(arrays[f"{p}_labels"])
        if x.dtype != np.uint8 or not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] == 3)) or len(x) != n:
            raise LatentgapError(
                f"{path.name}: {p}_images is {x.dtype} {x.shape} for {n} labels; expected uint8 "
                "(N, H, W) or (N, H, W, 3)"
            )
    y = np.concatenate([arrays[f"{p}_labels"].reshape(len(images[p]), -1) for p in parts]).astype(np.int64)
    part = np.concatenate([[p] * len(images[p]) for p in parts])
    offset = np.concatenate([np.arange(len(images[p])) for p in parts])
    known = (m := re.match(r"^([a-z]+mnist)", path.name.lower())) and MEDMNIST_CLASSES.get(m[1])
    card = dict(groups="one per image (MedMNIST has no patient ids)", dataset=m[1] if known else "unknown")
    if y.shape[1] == 1:  # multi-class
        y = y[:, 0]
        names = list(known) if known else [f"class_{i}" for i in range(int(y.max()) + 1 if y.size else 0)]
        bad = (y < 0) | (y >= len(names))
        if bad.any():
            where = [f"{part[i]}[{offset[i]}]={y[i]}" for i in np.flatnonzero(bad)]
            raise _listing(
                f"unknown labels in {path.name} ({len(names)} classes)",
                where,
                "check that the file name matches its MedMNIST dataset",
            )
    else:  # multi-label (ChestMNIST): one positive keeps it, none is "normal", several are dropped
        if not np.isin(y, [0, 1]).all():
            raise LatentgapError(f"{path.name}: multi-label labels hold values other than 0/1")
        names = list(known) if known and len(known) == y.shape[1] else [f"class_{i}" for i in range(y.shape[1])]
        n_pos = y.sum(1)
        keep = n_pos <= 1
        card["dropped_several_positive"] = int((~keep).sum())
        y, part, offset = np.where(n_pos == 1, y.argmax(1), len(names))[keep], part[keep], offset[keep]
        names.append(NORMAL)
    groups = np.char.add(np.char.add(part.astype(str), "-"), offset.astype(str))
    sources = list(zip(part.tolist(), offset.tolist()))

    def read(row) -> list[np.ndarray]:
        x = images[row.source[0]][row.source[1]].astype(np.float32) / 255.0
        return [x[None] if x.ndim == 2 else x.transpose(2, 0, 1)]

    return Index(_rows(sources, y, groups, part), names, read, card)


register(
    Format(
        "medmnist",
        "MedMNIST+ .npz: train/val/test images and labels; official split from the three parts",
        "a .npz file",
        lambda p: p.is_file() and p.name.lower().endswith(".npz"),
        _index_medmnist,
        False,
        order=10,
    )
)
