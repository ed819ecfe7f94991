"""EchoNet-Dynamic: `FileList.csv` + `Videos/*.avi`; a few frames per video, EF < 50 % = reduced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.formats._common import (
    Format,
    Index,
    Options,
    _listing,
    _no_missing,
    _read_csv,
    _require,
    _resolve,
    _rows,
    _split_values,
    register,
)

EF_THRESHOLD = 50.0  # % ; below it the ejection fraction is reduced (the usual clinical cut-off)
ECHONET_CLASSES = ["normal_ef", "reduced_ef"]


def _index_echonet(path: Path, root: None, opt: Options) -> Index:
    folder = path if path.is_dir() else path.parent
    csv = folder / "FileList.csv"
    df = _read_csv(csv)
    _require(df, ["FileName", "EF", "Split"], csv, "FileName, EF, Split (TRAIN/VAL/TEST), ...")
    _no_missing(df, ["FileName", "Split"], csv)
    ef = pd.to_numeric(df["EF"], errors="coerce")
    if ef.isna().any():
        raise _listing(
            f"videos in {csv.name} without a numeric EF",
            list(df["FileName"][ef.isna()]),
            "fill in EF or drop those rows",
        )
    names = df["FileName"].astype(str).str.strip()
    stems = names.str.replace(r"\.avi$", "", regex=True, case=False)
    sources = _resolve("Videos/" + stems + ".avi", folder, csv)
    labels = (ef < EF_THRESHOLD).astype(int).to_numpy()
    card = dict(
        groups="video",
        ef_threshold=EF_THRESHOLD,
        ef_by_group=dict(zip(stems, ef.astype(float).tolist())),
        frames=f"{opt.frames_per_video} evenly spaced frames per video",
    )

    def read(row) -> list[np.ndarray]:
        return readers.decode_video_frames(row.source, opt.frames_per_video)

    rows = _rows(sources, labels, stems, _split_values(df["Split"], csv), count=opt.frames_per_video)
    return Index(rows, ECHONET_CLASSES, read, card)


def _detect_echonet(p: Path) -> bool:
    folder = p if p.is_dir() else p.parent if p.name == "FileList.csv" else None
    return folder is not None and (folder / "FileList.csv").is_file() and (folder / "Videos").is_dir()


register(
    Format(
        "echonet",
        "EchoNet-Dynamic: FileList.csv + Videos/*.avi; a few frames per video, EF < 50% = reduced",
        "a folder with FileList.csv and Videos/ (or that FileList.csv)",
        _detect_echonet,
        _index_echonet,
        False,
        order=20,
    )
)
