"""Across-run statistics: the paper's paired test of latent vs reconstruction and structure-gap correlations.

Computed from stored records on demand (nothing here is stored). Each reads one profile at a time and never smoke runs
(`Profile.smoke`: a run-through check, not a measurement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import permutation_test, rankdata, ttest_rel, wilcoxon

from latentgap.spec import PROFILES

SMOKE_PROFILES = frozenset(name for name, p in PROFILES.items() if p.smoke)
AE_IDENTITY = ("ae_hash", "latent_norm", "vq_latent")  # one autoencoder's latent: same weights, same latent options


def measured_profiles(runs: pd.DataFrame) -> list[str]:
    """The non-smoke profiles of `runs` (a frame with `profile`, `created_at`), newest run's first."""
    measured = runs[~runs.profile.isin(SMOKE_PROFILES)].sort_values("created_at", ascending=False)
    return list(dict.fromkeys(measured.profile))


def default_profile(runs: pd.DataFrame) -> str | None:
    """The profile statistics views show unless told otherwise: the newest measured run's, else (only smoke runs
    stored) the newest run's; None without runs. One profile: runs of different budgets are never pooled."""
    if runs.empty:
        return None
    return (measured_profiles(runs) or [runs.sort_values("created_at").profile.iloc[-1]])[0]


def select_pairs(paired: pd.DataFrame, profile: str) -> pd.DataFrame:
    """The replicate pairs of `profile` that enter the paired test, each with its `unit` (AE identity x dataset).

    paired: `Store.paired_scores()`. Smoke runs never enter; a replicate stored more than once (same AE weights hash
    and latent options, dataset, profile, seed and fold: a rerun) counts once, from the newest run.
    """
    if profile in SMOKE_PROFILES:
        paired = paired.iloc[:0]
    df = paired[paired.profile == profile].copy()
    ident = [*AE_IDENTITY, "dataset"]
    df[list(AE_IDENTITY)] = df[list(AE_IDENTITY)].astype(object).fillna("")  # older runs lack the latent options
    df = df.sort_values("created_at").drop_duplicates([*ident, "profile", "seed", "fold"], keep="last")
    return df.assign(unit=df[ident].astype(str).agg(" | ".join, axis=1) if len(df) else pd.Series(dtype=str))


def paired_test(pairs: pd.DataFrame) -> dict:
    """Paired test of a vs b across units: each unit's replicates are averaged, then a paired t-test and a Wilcoxon
    signed-rank test run over the unit means (two-sided). The paper reports p = 9.5e-7 for latent < reconstruction
    across AEs x datasets x folds.

    pairs: columns a, b and `unit` (`select_pairs`); without `unit` each row is a unit. Why averaging and not the
    Nadeau-Bengio corrected resampled t-test: a unit's replicates are not independent (CV folds share training
    images, seeds share the fixed split), and Nadeau-Bengio's correction of the variance by (1/J + n_test/n_train)
    models only the fold overlap, not seeds on one split; unit means of different AEs or datasets are independent,
    so the plain tests over them need no model of that correlation. The price: n is the number of units.
    p is NaN with fewer than 2 units.
    """
    units = pairs.groupby("unit")[["a", "b"]].mean() if "unit" in pairs else pairs[["a", "b"]]
    a, b = units["a"].to_numpy(float), units["b"].to_numpy(float)
    out = dict(
        n_units=int(len(a)),
        n_pairs=int(len(pairs)),
        mean_difference=float(np.mean(a - b)) if len(a) else float("nan"),
        t_test_p=float("nan"),
        wilcoxon_p=float("nan"),
    )
    if len(a) >= 2 and np.any(a != b):
        out["t_test_p"] = float(ttest_rel(a, b).pvalue)
        out["wilcoxon_p"] = float(wilcoxon(a, b).pvalue)
    return out


def _pearson(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson r of each row of x (..., n) with y (n,): vectorised for the permutation test."""
    xc, yc = x - x.mean(axis=axis, keepdims=True), y - y.mean()
    return (xc * yc).sum(axis=axis) / np.sqrt((xc**2).sum(axis=axis) * (yc**2).sum())


def permutation_p(x: np.ndarray, y: np.ndarray, n_resamples: int = 9999, seed: int = 0) -> float:
    """Two-sided permutation p-value of Pearson r between x and y (n,): y held, x's pairing permuted (exact when
    n! <= n_resamples). Pass ranks for Spearman's rho."""
    res = permutation_test(
        (np.asarray(x, float),),
        lambda xs, axis=-1: _pearson(xs, np.asarray(y, float), axis),
        permutation_type="pairings",
        vectorized=True,
        n_resamples=n_resamples,
        random_state=seed,
    )
    return float(res.pvalue)


def structure_gap_correlation(structure: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Across runs, Pearson and Spearman correlation of each (channel-averaged) statistic with the gap, with the number
    of runs and two-sided permutation p-values.

    structure: `Store.structure()`; gaps: `Store.gap_table()` of one profile. Needs at least 3 runs per statistic.
    """
    per_run = structure.groupby(["run_id", "statistic"], as_index=False)["value"].mean()
    merged = per_run.merge(gaps[["run_id", "gap"]], on="run_id").dropna()
    rows = []
    for stat, g in merged.groupby("statistic"):
        row = dict(statistic=stat, n_runs=len(g), pearson_r=np.nan, pearson_p=np.nan, spearman_rho=np.nan)
        row["spearman_p"] = np.nan
        x, y = g["value"].to_numpy(float), g["gap"].to_numpy(float)
        if len(g) >= 3 and len(np.unique(x)) > 1 and len(np.unique(y)) > 1:
            rx, ry = rankdata(x), rankdata(y)
            row.update(
                pearson_r=float(_pearson(x, y)),
                pearson_p=permutation_p(x, y),
                spearman_rho=float(_pearson(rx, ry)),
                spearman_p=permutation_p(rx, ry),
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=["statistic", "n_runs", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"])
