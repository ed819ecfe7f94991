"""Across-run statistics: the paper's paired test of latent vs reconstruction and structure-gap correlations.

Computed from stored records on demand (nothing here is stored), so they always cover everything in the store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr, ttest_rel, wilcoxon


def paired_test(paired: pd.DataFrame) -> dict:
    """Paired tests of a vs b over all (run, fold) pairs: mean difference, t-test and Wilcoxon p-values.

    `paired` has columns a, b (e.g. `Store.paired_scores()`); the paper reports p = 9.5e-7 for
    latent < reconstruction across AEs x datasets x folds. p is NaN with fewer than 2 pairs.
    """
    a, b = paired["a"].to_numpy(float), paired["b"].to_numpy(float)
    out = dict(
        n_pairs=int(len(a)),
        mean_difference=float(np.mean(a - b)) if len(a) else float("nan"),
        t_test_p=float("nan"),
        wilcoxon_p=float("nan"),
    )
    if len(a) >= 2 and np.any(a != b):
        out["t_test_p"] = float(ttest_rel(a, b).pvalue)
        out["wilcoxon_p"] = float(wilcoxon(a, b).pvalue)
    return out


def structure_gap_correlation(structure: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Across runs, Pearson and Spearman correlation of each (channel-averaged) statistic with the gap.

    structure: `Store.structure()`; gaps: `Store.gap_table()`. Needs at least 3 runs per statistic.
    """
    per_run = structure.groupby(["run_id", "statistic"], as_index=False)["value"].mean()
    merged = per_run.merge(gaps[["run_id", "gap"]], on="run_id").dropna()
    rows = []
    for stat, g in merged.groupby("statistic"):
        if len(g) >= 3 and g["value"].nunique() > 1 and g["gap"].nunique() > 1:
            rows.append(
                dict(
                    statistic=stat,
                    n_runs=len(g),
                    pearson_r=float(pearsonr(g.value, g.gap)[0]),
                    spearman_rho=float(spearmanr(g.value, g.gap)[0]),
                )
            )
        else:
            rows.append(dict(statistic=stat, n_runs=len(g), pearson_r=np.nan, spearman_rho=np.nan))
    return pd.DataFrame(rows)
