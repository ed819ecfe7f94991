"""Real labelled medical datasets latentgap knows by name, read from their upstream layouts under a data root.

`--dataset NAME` (and `data list`) finds NAME under `--data-root`, else `$LATENTGAP_DATA`; the files are never
shipped or downloaded by latentgap. A missing set is listed as unavailable with where to get it (upstream name, DOI).
The full Kermany set is `chest-xray-pneumonia-full` (folder `chest-xray-pneumonia/`): the name
`chest-xray-pneumonia` is the compact copy that ships with latentgap (`datasets/embedded.py`), so a name means the
same images whether or not a data root is set.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from latentgap.errors import LatentgapError


@dataclass(frozen=True)
class RealSet:
    name: str
    folder: str  # under the data root, in the upstream layout
    format: str  # a datasets/formats name
    modality: str
    upstream: str  # what to download, and where
    doi: str
    licence: str
    groups: str  # what a group (patient) is


REAL_SETS: dict[str, RealSet] = {
    s.name: s
    for s in [
        RealSet(
            "chest-xray-pneumonia-full",
            "chest-xray-pneumonia",
            "chest-xray",
            "paediatric chest X-ray",
            "Kermany et al. 2018, 'Labeled Optical Coherence Tomography (OCT) and Chest X-Ray Images for "
            "Classification' (Mendeley Data, ChestXRay2017.zip), or Kaggle paultimothymooney/chest-xray-pneumonia",
            "10.17632/rscbjbr9sj.2",
            "CC BY 4.0",
            "patient id from the file name",
        ),
        RealSet(
            "ham10000",
            "ham10000",
            "ham10000",
            "dermoscopy",
            "HAM10000 (Harvard Dataverse: HAM10000_images_part_1/2.zip + HAM10000_metadata), or Kaggle "
            "kmader/skin-cancer-mnist-ham10000",
            "10.7910/DVN/DBW86T",
            "CC BY-NC 4.0",
            "lesion_id",
        ),
        RealSet(
            "covid-ct",
            "covid-ct",
            "sars-cov2-ct",
            "chest CT slices",
            "SARS-CoV-2 CT-scan dataset (Kaggle plameneduardo/sarscov2-ctscan-dataset: COVID/, non-COVID/)",
            "10.1101/2020.04.24.20078584",
            "CC BY-NC-SA 4.0 (as reported)",
            "none: one group per image (leaks)",
        ),
        RealSet(
            "pneumoniamnist",
            "medmnist/pneumoniamnist.npz",
            "medmnist",
            "chest X-ray, 28 px",
            "MedMNIST v2 (Zenodo record 10519652: pneumoniamnist.npz)",
            "10.5281/zenodo.10519652",
            "CC BY 4.0",
            "one per image (official split)",
        ),
        RealSet(
            "breastmnist",
            "medmnist/breastmnist.npz",
            "medmnist",
            "breast ultrasound, 28 px",
            "MedMNIST v2 (Zenodo record 10519652: breastmnist.npz)",
            "10.5281/zenodo.10519652",
            "CC BY 4.0",
            "one per image (official split)",
        ),
    ]
}


def data_root(data_root: str | os.PathLike | None = None) -> Path | None:
    """`data_root`, else $LATENTGAP_DATA, else None."""
    root = data_root or os.environ.get("LATENTGAP_DATA")
    return Path(root).expanduser() if root else None


def locate(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder or file of real set `name` under the data root; a one-line error saying where to get it."""
    s, base = REAL_SETS[name], data_root(root)
    if base is None:
        raise LatentgapError(
            f"{name} is a real dataset read from a data root: pass --data-root DIR or set "
            f"LATENTGAP_DATA (DIR/{s.folder}); get it from {s.upstream}, doi:{s.doi}"
        )
    path = base / s.folder
    if not path.exists():
        raise LatentgapError(
            f"{name} is not under {base} (expected {path}); get it from {s.upstream}, doi:{s.doi}, and unpack it there"
        )
    return path


def describe(name: str, root: str | os.PathLike | None = None) -> dict:
    """`data list` entry: metadata, `synthetic: false`, and whether it is available under the data root."""
    s, base = REAL_SETS[name], data_root(root)
    available = base is not None and (base / s.folder).exists()
    return dict(asdict(s), synthetic=False, available=available, path=str(base / s.folder) if available else None)
