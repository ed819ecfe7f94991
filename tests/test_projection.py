"""UMAP projections: deterministic per seed, faithful to cluster structure, bounded above the fit limit."""

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

from latentgap import projection
from latentgap.projection import project


def _clusters(n_per=150, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (3, dim))
    x = np.concatenate([c + rng.normal(0, 1, (n_per, dim)) for c in centres])
    return x, np.repeat(np.arange(3), n_per)


def test_projection_keeps_clusters_and_is_seeded():
    x, y = _clusters()
    xy = project(x, seed=0)
    assert xy.shape == (len(x), 2) and xy.dtype == np.float32
    knn = KNeighborsClassifier(5).fit(xy[::2], y[::2])
    assert knn.score(xy[1::2], y[1::2]) > 0.95  # neighbours in 2-D are neighbours in the features
    assert np.array_equal(project(x, seed=0), xy)


def test_above_the_fit_limit_the_rest_is_transformed(monkeypatch):
    monkeypatch.setattr(projection, "MAX_POINTS", 200)
    x, y = _clusters(n_per=120)
    xy = project(x, seed=0)
    assert xy.shape == (360, 2) and np.isfinite(xy).all()
    assert KNeighborsClassifier(5).fit(xy[::2], y[::2]).score(xy[1::2], y[1::2]) > 0.9


def test_a_handful_of_points_still_get_coordinates():
    assert project(np.ones((3, 5)), seed=0).shape == (3, 2)
