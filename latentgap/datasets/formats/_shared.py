"""The shared pass after a format's index: keep whole groups, check splits, read and resize every image, card.

Leakage guard (every format): each decoded native image (before resize) is hashed; exact copies -- the same pixels
under another name, class or split -- are put in one group (union-find over group ids), so copies never straddle
train/val/test (with max_images: among the images kept). A group then found in two official splits drops the split
(diagnosis cross-validates by group) with a warning; only a split column a user can fix (Index.crossing == "refuse")
is refused, before any pixel is read.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.dataset import Dataset
from latentgap.datasets.formats._common import SHOWN, Format, Index, Options, _listing
from latentgap.errors import LatentgapError


def _check_split_groups(rows: pd.DataFrame) -> None:
    known = rows.dropna(subset=["split"])
    if known.empty:
        return
    n_splits = known.groupby("group")["split"].nunique()
    bad = known[known["group"].isin(n_splits.index[n_splits > 1])]
    if len(bad):
        splits = bad.groupby("group")["split"].agg(lambda v: "/".join(sorted(set(v))))
        raise _listing(
            "groups in two official splits",
            [f"{g} ({s})" for g, s in splits.items()],
            "each patient must sit in one split; fix the split column",
        )


def _crossing(split: np.ndarray, groups: np.ndarray) -> list[str]:
    """Sorted ids of the groups that hold images in more than one official split."""
    n = pd.DataFrame(dict(group=groups, split=split)).groupby("group")["split"].nunique()
    return sorted(n.index[n > 1])


def _pixel_key(x: np.ndarray) -> bytes:
    """Content hash of one decoded native image (C, H, W) float32: equal exactly for equal pixels and shape."""
    h = hashlib.sha256(str(x.shape).encode())  # sha256: hardware-accelerated on most CPUs, ~0.4 ms per 224 px RGB
    h.update(np.ascontiguousarray(x).data)
    return h.digest()[:16]


def _merge_duplicates(keys: list[bytes], groups: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict]:
    """(N,) groups with every set of identical images in one group, and counts for the card.

    Union-find over group ids; a merged group keeps the id of its first image. `duplicate_images` counts images
    that repeat an earlier one; `duplicate_label_conflicts` the distinct images whose copies carry several labels.
    """
    parent = {g: g for g in groups.tolist()}

    def find(g: str) -> str:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    first, repeats, conflicts = {}, 0, set()
    for i, key in enumerate(keys):
        j = first.setdefault(key, i)
        if j != i:
            repeats += 1
            if labels[i] != labels[j]:
                conflicts.add(key)
            a, b = find(groups[j]), find(groups[i])
            parent[b] = a
    name = {}
    for g in groups.tolist():
        name.setdefault(find(g), g)
    merged = np.array([name[find(g)] for g in groups.tolist()], dtype=groups.dtype)
    stats = dict(
        duplicate_images=repeats,
        duplicate_groups_merged=len(set(groups.tolist())) - len(name),
        duplicate_label_conflicts=len(conflicts),
    )
    return merged, stats


def _guard_warnings(dup: dict, crossing: list[str]) -> list[str]:
    """The card's warning lines for exact copies, their labels, and groups in two official splits."""
    out, n_dup, n_merged = [], dup["duplicate_images"], dup["duplicate_groups_merged"]
    if n_dup:
        merged = f"; {n_merged} groups merged into others" if n_merged else ""
        out.append(
            f"{n_dup} images repeat an earlier image exactly (same decoded pixels); copies share one group "
            f"so they never straddle train/val/test{merged}"
        )
    if dup["duplicate_label_conflicts"]:
        out.append(
            f"{dup['duplicate_label_conflicts']} duplicated images carry different labels in different copies "
            "(label noise); check them"
        )
    if crossing:
        more = f" and {len(crossing) - SHOWN} more" if len(crossing) > SHOWN else ""
        out.append(
            f"{len(crossing)} groups hold images in two official splits ({', '.join(crossing[:SHOWN])}{more}): "
            "the official split is not used; diagnosis cross-validates by group (the paper's 5-fold grouped "
            "split)"
        )
    return out


def _split_counts(split: np.ndarray | None) -> dict | None:
    return None if split is None else {p: int((split == p).sum()) for p in ("train", "val", "test")}


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


def _materialize(
    path: Path, fmt: Format, index: Index, opt: Options, max_images: int | None, root: Path, pixels: bool = True
) -> Dataset:
    """The Dataset of `index`: images (N, C, R, R) float32 in [0, 1], R = opt.resolution.

    `pixels=False` reads and hashes every image but keeps none: images (N, C, 0, 0); labels, groups, split and
    card as with pixels (what `inspect_path` needs, without the resize that dominates its time).
    """
    if index.rows.empty:
        raise LatentgapError(f"no images listed in {path} ({fmt.name}); check the file against: {fmt.description}")
    if index.crossing == "refuse":
        _check_split_groups(index.rows)
    rows = _select(index.rows, max_images)
    rows, class_names, empty = _drop_empty_classes(rows, index.class_names)
    if len(class_names) < 2:
        after = f" among the {len(rows)} sources kept by max_images={max_images}" if max_images else ""
        raise LatentgapError(
            f"only one class ({class_names[0]!r}) in {path}{after}; a classifier needs at least two"
            + ("; raise max_images" if max_images else "; check the labels")
        )
    # --- read, hash and resize ---
    images, keys, owner, sizes, failed, first_error = [], [], [], Counter(), [], ""
    for i, row in enumerate(rows.itertuples(index=False)):
        try:
            native = index.read(row)
        except LatentgapError as e:
            failed.append(_display(row.source, root))
            first_error = first_error or str(e)
            continue
        for x in native:
            sizes[f"{x.shape[1]}x{x.shape[2]}"] += 1  # H x W at native size
            keys.append(_pixel_key(x))
            images.append(readers.resize(x, opt.resolution) if pixels else np.empty((len(x), 0, 0), np.float32))
            owner.append(i)
    if failed:
        raise _listing("unreadable files", failed, f"fix or remove them (first error: {first_error})")
    stacked, channels = _same_channels(images)
    owner = np.asarray(owner)
    split = rows["split"].to_numpy()[owner]
    split = None if pd.isna(split).all() else split.astype(str)
    labels = rows["label"].to_numpy(np.int64)[owner]
    groups = rows["group"].to_numpy().astype(str)[owner]
    # --- leakage guard: exact copies share a group; a group in two official splits drops the split ---
    index_card = dict(index.card)
    warnings = list(index_card.pop("warnings", []))
    groups, dup = _merge_duplicates(keys, groups, labels)
    crossing = _crossing(split, groups) if split is not None else []
    warnings += _guard_warnings(dup, crossing)
    # --- card ---
    kinds = Counter(readers.file_kind(s) for s in rows["source"] if isinstance(s, Path))
    card = dict(
        format=fmt.name,
        source=str(path),
        data_root=str(root) if fmt.csv else None,
        resolution=opt.resolution,
        resize=readers.RESIZE_METHOD,
        channels=channels,
        n_images=len(labels),
        n_sources=len(rows),
        n_groups=len(set(groups.tolist())),
        file_types=dict(kinds),
        class_counts=dict(zip(class_names, np.bincount(labels, minlength=len(class_names)).tolist())),
        source_sizes=dict(sizes.most_common(10)),
        mixed_sizes=len(sizes) > 1,
        **dup,
        split_on_disk=_split_counts(split),
        official_split=None if crossing else _split_counts(split),
        groups_crossing_split=len(crossing),
    )
    if kinds.keys() & {"dicom", "nifti"} and "window" not in index_card:
        card["window"] = opt.window or "DICOM: the file's VOI window, else min-max; NIfTI: lung (-1000..400 HU)"
    if max_images is not None:
        card["max_images"] = dict(limit=max_images, rule="whole groups in a seeded (0) shuffle of the group ids")
    if empty:
        card["dropped_empty_classes"] = empty
    card.update(index_card)
    card["warnings"] = warnings
    return Dataset(
        name=_name(path),
        images=stacked,
        labels=labels,
        groups=groups,
        class_names=class_names,
        synthetic=False,
        card=card,
        split=None if crossing else split,
    )


def _name(path: Path) -> str:
    if path.name == "FileList.csv":  # EchoNet: the folder names the dataset
        return path.parent.name
    return re.sub(r"\.(csv|csv\.gz|npz)$", "", path.name, flags=re.IGNORECASE) or str(path)
