"""2-D projections of per-sample features (pooled latents, image-space features) for the Latent explorer.

UMAP (umap-learn) as the paper's figures use. Above `MAX_POINTS` samples the fit runs on a seeded subsample and
the rest are placed with `transform`, so a 100k-sample benchmark still projects in minutes on a CPU; the dashboard
reads the stored coordinates and never projects inside a request.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 5_000  # fit on at most this many samples; the others are embedded with the fitted model


def project(features: np.ndarray, seed: int, n_neighbors: int = 15) -> np.ndarray:
    """(N, D) float features -> (N, 2) float32 UMAP coordinates, deterministic for a seed.

    Features are standardised per dimension first so no channel dominates the neighbour graph.
    """
    import umap  # heavy (numba); imported on use

    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    assert np.isfinite(x).all(), "features must be finite"
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    n = len(x)
    if n < 4:  # UMAP needs a few neighbours; a handful of points are placed on a line
        return np.stack([np.arange(n, dtype=np.float32), np.zeros(n, np.float32)], 1)
    reducer = umap.UMAP(
        n_neighbors=min(n_neighbors, n - 1), random_state=seed, n_jobs=1, init="random" if n < 16 else "spectral"
    )
    if n <= MAX_POINTS:
        return reducer.fit_transform(x).astype(np.float32)
    fit_idx = np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False)
    reducer.fit(x[fit_idx])
    return reducer.transform(x).astype(np.float32)
