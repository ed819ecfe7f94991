"""The paper's split protocol: StratifiedGroupKFold(5, shuffle, seed 0); fold k test, k+1 val, rest train."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from latentgap.errors import LatentgapError


def paper_split(labels: np.ndarray, groups: np.ndarray, fold: int, n_splits: int = 5, seed: int = 0):
    """Return (train, val, test) index arrays for `fold`; no group appears in two of them."""
    if not 0 <= fold < n_splits:
        raise LatentgapError(f"fold {fold} out of range; choose 0..{n_splits - 1}")
    if len(np.unique(groups)) < n_splits:
        raise LatentgapError(f"only {len(np.unique(groups))} groups: need at least {n_splits} for {n_splits} folds")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = [test for _, test in cv.split(np.zeros(len(labels)), labels, groups)]
    test, val = folds[fold], folds[(fold + 1) % n_splits]
    train = np.sort(np.concatenate([f for i, f in enumerate(folds) if i not in (fold, (fold + 1) % n_splits)]))
    for a, b in ((train, val), (train, test), (val, test)):
        assert not set(groups[a]) & set(groups[b]), "a group crosses splits"
    return train, val, test


def official_split(split: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int = 0):
    """(train, val, test) from a dataset's own split column ("train" | "val" | "test").

    Without a validation part, one fifth of the training groups becomes validation (stratified, grouped).
    """
    idx = {part: np.flatnonzero(split == part) for part in ("train", "val", "test")}
    if not len(idx["train"]) or not len(idx["test"]):
        raise LatentgapError("the official split needs 'train' and 'test' parts; use --folds to cross-validate instead")
    if not len(idx["val"]):
        tr = idx["train"]
        cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
        keep, val = next(cv.split(np.zeros(len(tr)), labels[tr], groups[tr]))
        idx["train"], idx["val"] = tr[keep], tr[val]
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        crossing = set(groups[idx[a]]) & set(groups[idx[b]])
        if crossing:
            raise LatentgapError(
                f"{len(crossing)} groups sit in both the {a} and {b} split (e.g. {sorted(crossing)[:3]}); "
                "fix the split column or use --folds"
            )
    return idx["train"], idx["val"], idx["test"]


def parse_folds(text: str | None, default: tuple[int, ...], n_splits: int = 5) -> tuple[int, ...]:
    """`--folds`: None -> the profile's default, "all" -> every fold, "0,2" -> those folds, "official" -> (-1,)."""
    if text is None:
        return default
    if text == "all":
        return tuple(range(n_splits))
    if text == "official":
        return (OFFICIAL,)
    try:
        folds = tuple(sorted({int(f) for f in text.split(",")}))
    except ValueError:
        raise LatentgapError(f"--folds {text!r}: give 'all', 'official' or fold numbers like 0 or 0,2") from None
    bad = [f for f in folds if not 0 <= f < n_splits]
    if bad:
        raise LatentgapError(f"--folds {text!r}: folds run 0..{n_splits - 1}")
    return folds


OFFICIAL = -1  # the fold number stored for runs on a dataset's official split


def nested_subsets(
    labels: np.ndarray, groups: np.ndarray, train: np.ndarray, fractions: tuple[float, ...], seed: int
) -> dict[float, np.ndarray]:
    """Nested training subsets of whole groups for a learning curve: fraction -> sorted indices into the dataset.

    The training split's groups are ordered once by a permutation seeded with `seed` (the replicate's training
    seed); then the first group of each class in that order is moved to the front, so every class with training
    images keeps a group at every fraction. A fraction takes the longest prefix of that order with at most
    fraction x len(train) images (never fewer than the class-covering groups), so smaller subsets are subsets of
    larger ones and 1.0 is the whole split. labels, groups (N,); train: indices into them.
    """
    train = np.asarray(train)
    names, member = np.unique(groups[train], return_inverse=True)  # member: each training image's group number
    sizes = np.bincount(member, minlength=len(names))
    order = np.random.default_rng(seed).permutation(len(names))
    first_of_class = {}  # class -> rank in `order` of its first group
    rank = np.empty(len(names), int)
    rank[order] = np.arange(len(names))
    for c in np.unique(labels[train]):
        first_of_class[c] = rank[member[labels[train] == c]].min()
    cover = sorted(set(first_of_class.values()))  # ranks of the class-covering groups, in permutation order
    order = np.concatenate([order[cover], np.delete(order, cover)])
    cumulative = np.cumsum(sizes[order])
    out = {}
    for fraction in fractions:
        n_groups = max(int(np.searchsorted(cumulative, fraction * len(train) + 1e-9, side="right")), len(cover))
        out[fraction] = np.sort(train[np.isin(member, order[:n_groups])])
    return out
