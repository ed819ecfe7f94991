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
