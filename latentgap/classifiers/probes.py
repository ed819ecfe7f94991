"""Frozen-feature probes (dinov2-style linear eval): logistic regression and kNN, from scikit-learn.

Features are flattened arrays (N, D); both probes standardise with train statistics. They answer "is the
label linearly / locally readable from this representation without training a network?".
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

PROBES = ("linear", "knn")


def probe_proba(
    kind: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, n_classes: int, seed: int = 0
) -> np.ndarray:
    """Class probabilities (N_test, n_classes) of a `kind` probe fitted on (x_train, y_train)."""
    if kind == "linear":
        clf = LogisticRegression(max_iter=2000, class_weight="balanced", random_state=seed)
    elif kind == "knn":
        clf = KNeighborsClassifier(n_neighbors=15, weights="distance")
    else:
        raise ValueError(kind)
    model = make_pipeline(StandardScaler(), clf).fit(x_train, y_train)
    proba = np.zeros((len(x_test), n_classes))
    proba[:, model.classes_] = model.predict_proba(x_test)  # classes absent from train keep probability 0
    return proba
