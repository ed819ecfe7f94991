"""Latent-structure statistics: how the AE lays information out, beyond whether it keeps it.

Inputs are flattened representations (N, D) or raw latents (N, C, h, w). Where scikit-learn or SciPy has
the statistic it is used (silhouette, trustworthiness, kurtosis); the rest are one-line formulas.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import kurtosis
from sklearn.manifold import trustworthiness
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors


def channel_statistics(latents: np.ndarray) -> list[dict]:
    """Per-channel mean, std and excess kurtosis of raw latents (N, C, h, w) (the paper normalises by them)."""
    rows = []
    for c in range(latents.shape[1]):
        v = latents[:, c].ravel().astype(np.float64)
        rows += [
            dict(statistic=s, channel=c, value=float(f(v)))
            for s, f in (("channel_mean", np.mean), ("channel_std", np.std), ("channel_kurtosis", kurtosis))
        ]
    return rows


def effective_rank(x: np.ndarray) -> float:
    """exp(entropy of the normalised singular values) of centred features (Roy & Vetterli 2007)."""
    s = np.linalg.svd(x - x.mean(0), compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def fisher_ratio(x: np.ndarray, y: np.ndarray) -> float:
    """trace(between-class scatter) / trace(within-class scatter) of standardised features."""
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    mu = x.mean(0)
    between = sum((y == c).sum() * np.sum((x[y == c].mean(0) - mu) ** 2) for c in np.unique(y))
    within = sum(np.sum((x[y == c] - x[y == c].mean(0)) ** 2) for c in np.unique(y))
    return float(between / within)


def knn_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean fraction of each sample's k nearest neighbours shared between representations a and b."""
    na = NearestNeighbors(n_neighbors=k + 1).fit(a).kneighbors(a, return_distance=False)[:, 1:]
    nb = NearestNeighbors(n_neighbors=k + 1).fit(b).kneighbors(b, return_distance=False)[:, 1:]
    return float(np.mean([len(set(i) & set(j)) / k for i, j in zip(na, nb)]))


def structure_statistics(
    latents: np.ndarray, image_features: np.ndarray, labels: np.ndarray, seed: int = 0, max_samples: int = 1000
) -> list[dict]:
    """All statistics as records {statistic, channel, value}; latents (N, C, h, w), image_features (N, D).

    Global statistics use the pooled latents (`pooled_latents`), comparable in size to `image_features`.
    """
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(labels))[:max_samples]
    z = pooled_latents(latents[idx]).astype(np.float64)
    img, y = image_features[idx].astype(np.float64), labels[idx]
    z_std = (z - z.mean(0)) / (z.std(0) + 1e-8)
    img_std = (img - img.mean(0)) / (img.std(0) + 1e-8)
    rows = channel_statistics(latents)
    rows += [
        dict(statistic="effective_rank", value=effective_rank(z_std)),
        dict(statistic="effective_rank_fraction", value=effective_rank(z_std) / min(z.shape)),
        dict(statistic="fisher_ratio", value=fisher_ratio(z, y)),
        dict(statistic="fisher_ratio_image", value=fisher_ratio(img, y)),
        dict(statistic="silhouette", value=float(silhouette_score(z_std, y)) if len(np.unique(y)) > 1 else np.nan),
        dict(statistic="knn_overlap_image_latent", value=knn_overlap(img_std, z_std)),
        dict(statistic="trustworthiness_image_to_latent", value=float(trustworthiness(img_std, z_std, n_neighbors=10))),
    ]
    return [{"channel": None, **r} for r in rows]


def pooled_latents(latents: np.ndarray, side: int = 4) -> np.ndarray:
    """Latents (N, C, h, w) average-pooled to (N, C·side·side): the probes' features (few enough dimensions
    for a linear probe to generalise from a few thousand samples)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32))
    return F.adaptive_avg_pool2d(x, min(side, x.shape[-1])).flatten(1).numpy()


def pixel_features(images: np.ndarray, n_values: int) -> np.ndarray:
    """Image-space features comparable to a latent: grayscale, area-pooled to ~`n_values` values, flattened."""
    import torch
    import torch.nn.functional as F

    side = max(1, int(round(np.sqrt(n_values))))
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).mean(1, keepdim=True)
    return F.adaptive_avg_pool2d(x, side).flatten(1).numpy()
