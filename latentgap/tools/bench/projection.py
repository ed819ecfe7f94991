"""Projection: `latentgap.projection.project` (the fast UMAP) side by side with the projection it replaced, at 1k,
10k and 100k latents: wall and CPU seconds of a warm call, and whether the embeddings are equivalent.

Equivalence is measured, not eyeballed: trustworthiness (Venna & Kaski 2001, scikit-learn's) on a seeded
subsample, the fraction of each point's 2-D neighbours that are its neighbours in the features ("kNN kept"), and
the fraction shared between the two embeddings' 2-D neighbourhoods. The replaced projection at 100k takes about
as long as the rest of the section, so `--quick` estimates it (linear in n above its fixed 5k fit) and says so.

Features are SYNTHETIC: pooled-latent-sized clusters (5 classes, 64 dimensions), each a Gaussian on its own random
8-dimensional subspace plus small isotropic noise, so neighbourhoods have structure a projection can keep or lose.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

DIM, CLASSES, RANK = 64, 5, 8
K, TRUST_SAMPLE, OVERLAP_QUERIES = 15, 2_000, 1_000
BEFORE_FIT = 5_000  # the replaced projection fitted UMAP on at most this many samples and transformed the rest
WARMUP_SMALL, WARMUP_N = 300, 6_000  # below and above umap-learn's 4,096-point exact-kNN limit: every kernel compiled


def features(n: int, seed: int = 0) -> np.ndarray:
    """(n, DIM) float32 SYNTHETIC clusters: CLASSES random centres, each with a random RANK-dim Gaussian spread."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (CLASSES, DIM))
    bases = rng.normal(0, 1, (CLASSES, RANK, DIM)) * rng.uniform(0.5, 2, (CLASSES, RANK, 1))
    c = rng.integers(CLASSES, size=n)
    spread = np.einsum("nr,nrd->nd", rng.normal(size=(n, RANK)), bases[c])
    return (centres[c] + spread + 0.3 * rng.normal(size=(n, DIM))).astype(np.float32)


def project_before(features: np.ndarray, seed: int) -> np.ndarray:
    """The projection `project` replaced (kept as the reference): umap-learn's defaults on the standardised features
    (NN-descent above 4,096 points, 500 epochs), fitted on at most BEFORE_FIT seeded samples, transform() for the rest."""
    import umap

    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    reducer = umap.UMAP(n_neighbors=min(15, len(x) - 1), random_state=seed, n_jobs=1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value")  # a seed forces one thread: meant
        if len(x) <= BEFORE_FIT:
            return reducer.fit_transform(x).astype(np.float32)
        reducer.fit(x[np.random.default_rng(seed).choice(len(x), BEFORE_FIT, replace=False)])
        return reducer.transform(x).astype(np.float32)


def knn_overlap(a: np.ndarray, b: np.ndarray, queries: np.ndarray, k: int = K) -> float:
    """Mean fraction of the k nearest neighbours (among all rows, self excluded) of the `queries` rows that are the
    same in space `a` (N, Da) and space `b` (N, Db)."""
    from sklearn.neighbors import NearestNeighbors

    def neighbours(z):
        return NearestNeighbors(n_neighbors=k + 1).fit(z).kneighbors(z[queries], return_distance=False)[:, 1:]

    na, nb = neighbours(a), neighbours(b)
    return float(np.mean([len(np.intersect1d(p, q)) / k for p, q in zip(na, nb)]))


def quality(x: np.ndarray, xy: np.ndarray, seed: int = 0) -> dict:
    """Trustworthiness (k=K) on TRUST_SAMPLE seeded points and kNN kept from the standardised features."""
    from sklearn.manifold import trustworthiness

    xs = (x - x.mean(0)) / (x.std(0) + 1e-6)
    rng = np.random.default_rng(seed)
    sub = rng.choice(len(x), min(TRUST_SAMPLE, len(x)), replace=False)
    queries = rng.choice(len(x), min(OVERLAP_QUERIES, len(x)), replace=False)
    return dict(
        trustworthiness=float(trustworthiness(xs[sub], xy[sub], n_neighbors=min(K, len(sub) // 2 - 1))),
        knn_kept=knn_overlap(xs, xy, queries, min(K, len(x) - 2)),
    )


def _timed(fn, x: np.ndarray, reps: int) -> tuple[dict, dict, np.ndarray]:
    """Wall and CPU seconds of `reps` calls fn(x, seed=0), and the last embedding."""
    from latentgap.tools.bench.measure import summarize

    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        xy = fn(x, seed=0)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return summarize(wall, "s"), summarize(cpu, "s"), xy


def run(
    quick: bool,
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
    before_sizes: tuple[int, ...] | None = None,
    reps: int | None = None,
    warmup_n: int = WARMUP_N,
) -> dict:
    from latentgap import projection
    from latentgap.tools.bench.measure import ratio

    before_sizes = before_sizes or tuple(n for n in sizes if n <= 10_000 or not quick)
    out = dict(
        dim=DIM,
        fast=dict(max_fit=projection.MAX_FIT, pca_dims=projection.PCA_DIMS, n_epochs=projection.N_EPOCHS),
        before_fit=BEFORE_FIT,
        k=K,
        first_call_s={},
        sizes={},
    )
    # --- warm up: a process's first calls compile numba kernels (fast first: it also pays UMAP's shared ones) ---
    for name, fn in (("fast", projection.project), ("before", project_before)):
        t0, c0 = time.perf_counter(), time.process_time()
        for n in (WARMUP_SMALL, warmup_n):  # both sides of umap-learn's exact-kNN limit
            fn(features(n, seed=1), seed=0)
        out["first_call_s"][name] = dict(wall=time.perf_counter() - t0, cpu=time.process_time() - c0)
    out["warmup_n"] = (WARMUP_SMALL, warmup_n)
    # --- warm calls side by side, and how alike the embeddings are ---
    for n in sizes:
        x = features(n)
        r = reps or ((2 if n <= 1_000 else 1) if quick else (3 if n <= 10_000 else 1))
        wall, cpu, xy = _timed(projection.project, x, r)
        row = dict(fast=dict(seconds=wall, cpu_seconds=cpu, **quality(x, xy)))
        if n in before_sizes:
            before_wall, before_cpu, ref = _timed(project_before, x, r)
            row["before"] = dict(seconds=before_wall, cpu_seconds=before_cpu, estimated=False, **quality(x, ref))
            queries = np.random.default_rng(0).choice(n, min(OVERLAP_QUERIES, n), replace=False)
            row["knn_shared_with_before"] = knn_overlap(ref, xy, queries, min(K, n - 2))
            row["speedup"] = ratio(before_wall, wall)
            row["cpu_speedup"] = ratio(before_cpu, cpu)
        out["sizes"][str(n)] = row
    measured = [n for n in before_sizes if n in sizes and n > BEFORE_FIT]
    for n in sizes:
        if n not in before_sizes and measured:  # fixed fit + linear transform: scale the largest measured size
            m = max(measured)
            before_s = out["sizes"][str(m)]["before"]["seconds"]["median"] * n / m
            out["sizes"][str(n)]["before"] = dict(estimated=True, estimate_s=before_s, estimated_from=m)
            out["sizes"][str(n)]["speedup"] = before_s / out["sizes"][str(n)]["fast"]["seconds"]["median"]
    out["dashboard"] = (
        "Coordinates are computed once per diagnosis and stored (projections table); the dashboard only reads "
        "them (see the store section's `projections` query at 100k points)."
    )
    return out
