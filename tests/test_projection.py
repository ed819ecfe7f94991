"""UMAP projections: deterministic per seed, faithful to neighbourhoods and clusters, bounded above the fit limit,
and as trustworthy as the projection the fast path replaced (the bench's reference)."""

import numpy as np
import pytest
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from latentgap import projection
from latentgap.projection import project
from latentgap.tools.bench.projection import features, knn_overlap, project_before


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
    assert not np.array_equal(project(x, seed=1), xy)


def test_above_the_fit_limit_the_rest_is_placed_by_fitted_neighbours(monkeypatch):
    monkeypatch.setattr(projection, "MAX_FIT", 200)
    x, y = _clusters(n_per=120)
    xy = project(x, seed=0)
    assert xy.shape == (360, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert np.array_equal(project(x, seed=0), xy)
    assert KNeighborsClassifier(5).fit(xy[::2], y[::2]).score(xy[1::2], y[1::2]) > 0.9


def test_high_dimensional_features_are_reduced_first():
    x, y = _clusters(n_per=60, dim=300)  # more dimensions than PCA_DIMS and than samples
    xy = project(x, seed=0)
    assert xy.shape == (180, 2) and KNeighborsClassifier(5).fit(xy[::2], y[::2]).score(xy[1::2], y[1::2]) > 0.95


def test_a_handful_of_points_still_get_coordinates():
    assert project(np.ones((3, 5)), seed=0).shape == (3, 2)


@pytest.mark.parametrize("n", [4, 5, 15, 16, 40])
def test_small_inputs_get_finite_seeded_coordinates(n):
    x = np.random.default_rng(n).normal(size=(n, 7))
    xy = project(x, seed=3)
    assert xy.shape == (n, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert np.array_equal(project(x, seed=3), xy)


def test_fast_path_is_as_trustworthy_as_the_projection_it_replaced(monkeypatch):
    """SYNTHETIC low-rank clusters (the bench's): the fast path keeps neighbourhoods about as well as umap-learn's
    defaults, fitted on every point and (looser) fitted on 600 of 1,500 with the rest placed by neighbours."""
    x = features(1_500)
    xs, queries = (x - x.mean(0)) / x.std(0), np.arange(0, 1_500, 3)
    before = project_before(x, seed=0)
    t_before, kept_before = trustworthiness(xs, before, n_neighbors=15), knn_overlap(xs, before, queries)
    assert t_before > 0.95  # the reference itself is faithful (a random layout scores 0.50)
    fast = project(x, seed=0)
    t_fast, kept_fast = trustworthiness(xs, fast, n_neighbors=15), knn_overlap(xs, fast, queries)
    assert t_fast > t_before - 0.01 and kept_fast > kept_before - 0.05, (t_fast, t_before, kept_fast, kept_before)
    monkeypatch.setattr(projection, "MAX_FIT", 600)
    placed = project(x, seed=0)
    t_placed, kept_placed = trustworthiness(xs, placed, n_neighbors=15), knn_overlap(xs, placed, queries)
    assert t_placed > t_before - 0.02 and kept_placed > kept_before - 0.1, (t_placed, kept_placed)
