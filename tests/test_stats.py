import numpy as np
import pandas as pd
import pytest
from scipy.stats import ttest_rel

from latentgap.stats import paired_test, structure_gap_correlation


def test_paired_test_matches_scipy():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.6, 0.8, 10)
    a = b - 0.05 + rng.normal(0, 0.01, 10)
    out = paired_test(pd.DataFrame(dict(a=a, b=b)))
    assert out["n_pairs"] == 10 and out["mean_difference"] == pytest.approx(np.mean(a - b))
    assert out["t_test_p"] == pytest.approx(ttest_rel(a, b).pvalue) and out["t_test_p"] < 1e-4
    assert np.isnan(paired_test(pd.DataFrame(dict(a=[0.5], b=[0.6])))["t_test_p"])


def test_structure_gap_correlation():
    runs = [f"r{i}" for i in range(5)]
    structure = pd.DataFrame(dict(run_id=runs, statistic="fisher_ratio", value=[1.0, 2, 3, 4, 5]))
    gaps = pd.DataFrame(dict(run_id=runs, gap=[0.5, 0.4, 0.3, 0.2, 0.1]))
    row = structure_gap_correlation(structure, gaps).iloc[0]
    assert row.n_runs == 5 and row.pearson_r == pytest.approx(-1.0) and row.spearman_rho == pytest.approx(-1.0)
