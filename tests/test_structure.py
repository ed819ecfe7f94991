import numpy as np
import pytest
from scipy.stats import kurtosis

from latentgap import structure


def test_channel_statistics():
    z = np.random.default_rng(0).normal(2.0, 3.0, size=(200, 2, 4, 4))
    rows = {(r["statistic"], r["channel"]): r["value"] for r in structure.channel_statistics(z)}
    assert rows[("channel_mean", 1)] == pytest.approx(z[:, 1].mean())
    assert rows[("channel_std", 0)] == pytest.approx(z[:, 0].std())
    assert rows[("channel_kurtosis", 0)] == pytest.approx(kurtosis(z[:, 0].ravel()))


def test_effective_rank_counts_used_dimensions():
    rng = np.random.default_rng(0)
    iso = rng.normal(size=(2000, 8))
    rank1 = rng.normal(size=(2000, 1)) @ rng.normal(size=(1, 8))
    assert structure.effective_rank(iso) > 7.5 and structure.effective_rank(rank1) < 1.1


def test_fisher_ratio_and_neighbourhoods():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    separated = rng.normal(size=(200, 5)) + 4 * y[:, None]
    mixed = rng.normal(size=(200, 5))
    assert structure.fisher_ratio(separated, y) > 10 * structure.fisher_ratio(mixed, y)
    assert structure.knn_overlap(separated, separated) == 1.0
    assert structure.knn_overlap(separated, mixed) < 0.3


def test_structure_statistics_records():
    rng = np.random.default_rng(0)
    latents, labels = rng.normal(size=(120, 4, 4, 4)), rng.integers(0, 3, 120)
    rows = structure.structure_statistics(latents, rng.normal(size=(120, 64)), labels)
    names = {r["statistic"] for r in rows}
    assert {
        "effective_rank",
        "fisher_ratio",
        "silhouette",
        "knn_overlap_image_latent",
        "trustworthiness_image_to_latent",
        "channel_kurtosis",
    } <= names
    assert all(np.isfinite(r["value"]) for r in rows)
