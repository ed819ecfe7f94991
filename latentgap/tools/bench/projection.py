"""Projection: wall time of `latentgap.projection.project` (UMAP) for 1k, 10k and 100k latents, and the fitted
scaling exponent t ∝ n^b. Sizes not measured (100k in `--quick`) are extrapolated from the fit and labelled so.

Features are pooled-latent-sized Gaussian blobs (5 classes, 64 dimensions): UMAP's cost depends on n, the
dimension and the neighbour graph, not on what the values mean.
"""

from __future__ import annotations

import time

import numpy as np

DIM, CLASSES = 64, 5


def features(n: int, seed: int = 0) -> np.ndarray:
    """(n, DIM) float32 Gaussian blobs around CLASSES random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (CLASSES, DIM))
    return (centres[rng.integers(CLASSES, size=n)] + rng.normal(size=(n, DIM))).astype(np.float32)


def run(
    quick: bool,
    sizes: tuple[int, ...] = (1_000, 10_000, 100_000),
    measured: tuple[int, ...] | None = None,
    reps: int | None = None,
) -> dict:
    from latentgap.projection import MAX_POINTS, project
    from latentgap.tools.bench.measure import power_law_exponent, repeat, summarize

    measured = measured or (sizes[:2] if quick else sizes)
    t0 = time.perf_counter()
    project(features(200), seed=0)  # numba compiles UMAP's kernels on the first call in a process
    out = dict(first_call_compile_s=time.perf_counter() - t0, dim=DIM, fit_limit=MAX_POINTS, sizes={})
    for n in measured:
        x = features(n)
        r = reps or (2 if quick and n <= 1_000 else 1 if quick else 3)
        out["sizes"][str(n)] = dict(
            seconds=summarize(repeat(lambda x=x: project(x, seed=0), r, 0), "s"), extrapolated=False
        )
    ns = [float(n) for n in measured]
    b, a = power_law_exponent(ns, [out["sizes"][str(int(n))]["seconds"]["median"] for n in ns])
    out["scaling_exponent"], out["scaling_fit"] = b, f"t = {a:.3g} * n^{b:.2f} s, fitted on n = {measured}"
    largest = max(measured)
    for n in sizes:
        if n not in measured:
            out["sizes"][str(n)] = dict(seconds=summarize([a * n**b], "s"), extrapolated=True)
            if largest > MAX_POINTS:  # above the fit limit the fit is fixed and transform() is ~linear: an upper bound
                t_largest = out["sizes"][str(largest)]["seconds"]["median"]
                out["sizes"][str(n)]["linear_estimate_s"] = t_largest * n / largest
    out["dashboard"] = (
        f"project() fits UMAP on at most {MAX_POINTS:,} seeded samples and places the rest with transform(), so it "
        "grows about linearly above that; coordinates are computed once per run and stored (projections table), "
        "and the dashboard only reads them (see the store section's `projections` query at 100k points)."
    )
    return out
