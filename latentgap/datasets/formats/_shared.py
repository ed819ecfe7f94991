"""The shared pass after a format's index: keep whole groups, check splits, read and resize every image, card."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.dataset import Dataset
from latentgap.datasets.formats._common import Format, Index, Options, _listing
from latentgap.errors import LatentgapError


def _check_split_groups(rows: pd.DataFrame) -> None:
    known = rows.dropna(subset=["split"])
    if known.empty:
        return
    n_splits = known.groupby("group")["split"].nunique()
    bad = known[known["group"].isin(n_splits.index[n_splits > 1])]
    if len(bad):
        splits = bad.groupby("group")["split"].agg(lambda v: "/".join(sorted(set(v))))
        raise _listing("groups in two official splits", [f"{g} ({s})" for g, s in splits.items()],
                       "each patient must sit in one split; fix the split column")  # fmt: skip


def _select(rows: pd.DataFrame, max_images: int | None) -> pd.DataFrame:
    """Whole groups, in a seeded shuffle of the sorted group ids, while they fit in `max_images` images."""
    if max_images is None:
        return rows
    sizes = rows.groupby("group", sort=True)["count"].sum()
    keep, total = [], 0
    for i in np.random.default_rng(0).permutation(len(sizes)):
        if total + sizes.iloc[i] <= max_images:
            keep.append(sizes.index[i])
            total += sizes.iloc[i]
    if not keep:
        raise LatentgapError(f"max_images={max_images} is smaller than every group ({sizes.min()}+ images); raise it")
    return rows[rows["group"].isin(keep)].reset_index(drop=True)


def _drop_empty_classes(rows: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Classes with no image (after selection) leave the label space; labels are renumbered in order."""
    counts = np.bincount(rows["label"], minlength=len(names))
    kept = np.flatnonzero(counts)
    remap = np.full(len(names), -1)
    remap[kept] = np.arange(len(kept))
    rows = rows.assign(label=remap[rows["label"].to_numpy()])
    return rows, [names[k] for k in kept], [names[k] for k in np.flatnonzero(counts == 0)]


def _same_channels(images: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """(N, C, R, R); grayscale mixed with colour is replicated to 3 channels (lossless) rather than colour dropped."""
    counts = Counter(x.shape[0] for x in images)
    if len(counts) == 1:
        return np.stack(images), f"{images[0].shape[0]} (native)"
    return np.stack([np.repeat(x, 3, 0) if x.shape[0] == 1 else x for x in images]), (
        f"3 ({counts[1]} grayscale images replicated to RGB among {counts[3]} colour ones)"
    )


def _display(source, root: Path) -> str:
    if isinstance(source, Path):
        return source.relative_to(root).as_posix() if source.is_relative_to(root) else str(source)
    return str(source)


def _materialize(path: Path, fmt: Format, index: Index, opt: Options, max_images: int | None,
                 root: Path) -> Dataset:  # fmt: skip
    if index.rows.empty:
        raise LatentgapError(f"no images listed in {path} ({fmt.name}); check the file against: {fmt.description}")
    _check_split_groups(index.rows)
    rows = _select(index.rows, max_images)
    rows, class_names, empty = _drop_empty_classes(rows, index.class_names)
    if len(class_names) < 2:
        after = f" among the {len(rows)} sources kept by max_images={max_images}" if max_images else ""
        raise LatentgapError(f"only one class ({class_names[0]!r}) in {path}{after}; a classifier needs at least two"
                             + ("; raise max_images" if max_images else "; check the labels"))  # fmt: skip
    # --- read and resize ---
    images, owner, sizes, failed, first_error = [], [], Counter(), [], ""
    for i, row in enumerate(rows.itertuples(index=False)):
        try:
            native = index.read(row)
        except LatentgapError as e:
            failed.append(_display(row.source, root))
            first_error = first_error or str(e)
            continue
        for x in native:
            sizes[f"{x.shape[1]}x{x.shape[2]}"] += 1  # H x W at native size
            images.append(readers.resize(x, opt.resolution))
            owner.append(i)
    if failed:
        raise _listing("unreadable files", failed, f"fix or remove them (first error: {first_error})")
    pixels, channels = _same_channels(images)
    owner = np.asarray(owner)
    split = rows["split"].to_numpy()[owner]
    labels = rows["label"].to_numpy(np.int64)[owner]
    groups = rows["group"].to_numpy().astype(str)[owner]
    # --- card ---
    kinds = Counter(readers.file_kind(s) for s in rows["source"] if isinstance(s, Path))
    card = dict(format=fmt.name, source=str(path), data_root=str(root) if fmt.csv else None,
                resolution=opt.resolution, resize=readers.RESIZE_METHOD, channels=channels, n_images=len(labels),
                n_sources=len(rows), n_groups=len(set(groups.tolist())), file_types=dict(kinds),
                class_counts=dict(zip(class_names, np.bincount(labels, minlength=len(class_names)).tolist())),
                source_sizes=dict(sizes.most_common(10)), mixed_sizes=len(sizes) > 1)  # fmt: skip
    if kinds.keys() & {"dicom", "nifti"} and "window" not in index.card:
        card["window"] = opt.window or "DICOM: the file's VOI window, else min-max; NIfTI: lung (-1000..400 HU)"
    if max_images is not None:
        card["max_images"] = dict(limit=max_images, rule="whole groups in a seeded (0) shuffle of the group ids")
    if empty:
        card["dropped_empty_classes"] = empty
    card.update(index.card)
    return Dataset(name=_name(path), images=pixels, labels=labels, groups=groups, class_names=class_names,
                   synthetic=False, card=card, split=None if pd.isna(split).all() else split.astype(str))  # fmt: skip


def _name(path: Path) -> str:
    if path.name == "FileList.csv":  # EchoNet: the folder names the dataset
        return path.parent.name
    return re.sub(r"\.(csv|csv\.gz|npz)$", "", path.name, flags=re.IGNORECASE) or str(path)
