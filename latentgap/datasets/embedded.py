"""Embedded real benchmarks: real labelled medical images shipped as package data, in their upstream layout.

`chest-xray-pneumonia` (the default benchmark) is a compact copy of the Kermany paediatric chest X-rays (CC BY 4.0):
whole patients, stratified by class, as 128 px grayscale PNGs under their original names in the upstream
`chest_xray/{train,test}/{NORMAL,PNEUMONIA}/` layout, built by `latentgap/tools/embedded_cxr.py` and read by the
`chest-xray` format exactly as the full set is. Its card (`card.json`, `README.md`: source, licence, DOI, reduction,
counts) sits beside the images. The full upstream set, read from a data root, is `chest-xray-pneumonia-full`
(`datasets/real.py`): one name always means the same images.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import latentgap.datasets.phantoms  # noqa: F401 -- the SYNTHETIC phantoms register first (order of data list, UI)
from latentgap.datasets.benchmark import Benchmark, register
from latentgap.datasets.dataset import Dataset
from latentgap.resources import data_dir

CHEST_XRAY = register(
    Benchmark(
        name="chest-xray-pneumonia",
        modality="paediatric chest X-ray (REAL, Kermany et al. 2018)",
        description="REAL patients, not synthetic: 598 paediatric chest X-rays of 302 patients, NORMAL vs PNEUMONIA "
        "(bacterial or viral), a whole-patient subsample of the Kermany set (CC BY 4.0, doi:10.17632/rscbjbr9sj.2) "
        "stored as 128 px grayscale PNG",
        class_names=("NORMAL", "PNEUMONIA"),
        default_size=598,  # every shipped image (tests check it against the files and the card)
        resolutions=(64, 128),  # stored at 128 px: larger resolutions are upsampled
        generator="",
        signals={},
        synthetic=False,
        folder="chest-xray-pneumonia",
        format="chest-xray",
    )
)


def folder(bench: Benchmark) -> Path:
    """Where the benchmark's files ship: the package data folder holding its upstream layout and card."""
    return data_dir() / bench.folder


def card(bench: Benchmark) -> dict:
    """The card written by the build tool: source, licence, DOI, how it was reduced, counts, bytes, manifest hash."""
    return json.loads((folder(bench) / "card.json").read_text())


def _provenance(bench: Benchmark) -> dict:
    c = card(bench)
    keys = ("real_data", "upstream", "doi", "licence", "licence_url", "copied_from", "reduction", "manifest_sha256")
    return dict(embedded=True, **{k: c[k] for k in keys})


def load(bench: Benchmark, resolution: int, n_images: int | None = None) -> Dataset:
    """The shipped images at `resolution` px, read by the benchmark's format (at most `n_images`, whole patients)."""
    from latentgap.datasets.formats import load_path

    data = load_path(folder(bench), bench.format, None, resolution, n_images)
    data.name = bench.name
    data.card.update(_provenance(bench))
    return data


def describe(bench: Benchmark) -> dict:
    """`data list` entry: class counts and patients from the format's index (no pixel read), the card's provenance."""
    from latentgap.datasets.formats import get_format
    from latentgap.datasets.formats._common import Options

    rows = get_format(bench.format).index(folder(bench), None, Options()).rows
    counts = np.bincount(rows["label"], minlength=len(bench.class_names))
    return dict(
        class_counts=dict(zip(bench.class_names, counts.tolist())),
        groups=int(rows["group"].nunique()),
        imbalance_ratio=round(float(counts.max() / max(counts.min(), 1)), 1),
        name=bench.name,
        modality=bench.modality,
        description=bench.description,
        synthetic=False,
        classes=list(bench.class_names),
        default_size=bench.default_size,
        resolutions=list(bench.resolutions),
        format=bench.format,
        path=str(folder(bench)),
        **_provenance(bench),
    )
