import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t
from scipy.stats import ttest_rel

from latentgap.stats import default_profile, paired_test, select_pairs, structure_gap_correlation


def test_paired_test_matches_scipy():
    rng = np.random.default_rng(0)
    b = rng.uniform(0.6, 0.8, 10)
    a = b - 0.05 + rng.normal(0, 0.01, 10)
    out = paired_test(pd.DataFrame(dict(a=a, b=b)))
    assert out["n_pairs"] == 10 and out["mean_difference"] == pytest.approx(np.mean(a - b))
    assert out["t_test_p"] == pytest.approx(ttest_rel(a, b).pvalue) and out["t_test_p"] < 1e-4
    assert np.isnan(paired_test(pd.DataFrame(dict(a=[0.5], b=[0.6])))["t_test_p"])


def test_the_paired_test_averages_replicates_per_unit_then_tests_across_units():
    pairs = pd.DataFrame(
        [
            ("u1", 0.60, 0.70),
            ("u1", 0.62, 0.68),  # u1: differences -0.10, -0.06 -> -0.08
            ("u2", 0.50, 0.70),  # u2: -0.20
            ("u3", 0.70, 0.72),
            ("u3", 0.66, 0.70),
            ("u3", 0.68, 0.70),  # u3: -0.02, -0.04, -0.02 -> -0.08 / 3
        ],
        columns=["unit", "a", "b"],
    )
    out = paired_test(pairs)
    d = [-0.08, -0.20, -0.08 / 3]  # by hand: one mean difference per unit
    mean = sum(d) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 2)
    t = mean / (sd / math.sqrt(3))
    assert out["n_units"] == 3 and out["n_pairs"] == 6
    assert out["mean_difference"] == pytest.approx(mean)
    assert out["t_test_p"] == pytest.approx(2 * student_t.sf(abs(t), df=2))  # ≈ 0.18, not the 6-pair p
    assert out["wilcoxon_p"] == pytest.approx(0.25)  # exact: all 3 signs negative, 2 x (1/2)^3
    assert out["t_test_p"] > 2 * ttest_rel(pairs.a, pairs.b).pvalue  # pooling replicates would overstate


def _pairs(*rows):
    cols = ["run_id", "ae_hash", "latent_norm", "vq_latent", "dataset", "profile", "seed", "fold", "created_at", "a"]
    df = pd.DataFrame([(*r[:8], pd.Timestamp(r[8]), r[9]) for r in rows], columns=cols)
    return df.assign(b=0.8, autoencoder="x")


def test_smoke_runs_other_profiles_and_reruns_are_left_out():
    paired = _pairs(
        ("old", "h1", "paper", "prequant", "chest", "quick", 0, 0, "2026-01-01", 0.1),
        ("new", "h1", "paper", "prequant", "chest", "quick", 0, 0, "2026-01-02", 0.2),  # a rerun: newest counts
        ("seeds", "h1", "paper", "prequant", "chest", "quick", 1, 0, "2026-01-01", 0.3),  # another seed: kept
        ("family", "h1", "family", "prequant", "chest", "quick", 0, 0, "2026-01-01", 0.4),  # another latent: kept
        ("ct", "h1", "paper", "prequant", "ct", "quick", 0, 0, "2026-01-01", 0.5),
        ("smoke", "h2", "paper", "prequant", "chest", "smoke", 0, 0, "2026-01-03", 0.6),
        ("paper", "h3", "paper", "prequant", "chest", "paper", 0, 0, "2026-01-03", 0.7),
    )
    quick = select_pairs(paired, "quick")
    assert sorted(quick.run_id) == ["ct", "family", "new", "seeds"]
    assert quick.unit.nunique() == 3  # h1 paper-norm on chest (2 seeds), h1 family-norm on chest, h1 on ct
    assert select_pairs(paired, "smoke").empty and list(select_pairs(paired, "paper").run_id) == ["paper"]
    runs = paired[["profile", "created_at"]]
    assert default_profile(runs) == "paper"  # the newest measured profile, never smoke
    assert default_profile(runs[runs.profile == "smoke"]) == "smoke" and default_profile(runs.iloc[:0]) is None


def test_structure_gap_correlation_reports_n_and_an_exact_permutation_p():
    runs = [f"r{i}" for i in range(5)]
    structure = pd.DataFrame(dict(run_id=runs, statistic="fisher_ratio", value=[1.0, 2, 3, 4, 5]))
    gaps = pd.DataFrame(dict(run_id=runs, gap=[0.5, 0.4, 0.3, 0.2, 0.1]))
    row = structure_gap_correlation(structure, gaps).iloc[0]
    assert row.n_runs == 5 and row.pearson_r == pytest.approx(-1.0) and row.spearman_rho == pytest.approx(-1.0)
    # of the 5! = 120 pairings only this one and its reverse reach |r| = 1
    assert row.pearson_p == pytest.approx(2 / 120) and row.spearman_p == pytest.approx(2 / 120)
    few = structure_gap_correlation(structure.iloc[:2], gaps).iloc[0]
    assert few.n_runs == 2 and np.isnan(few.pearson_p)


def test_results_tests_reads_the_store_per_profile_without_smoke_runs_or_reruns(tmp_path):
    """`results --kind tests` over a store: the pairs come from Store.paired_scores (AE hash and latent options from
    the stored spec), one row per measured profile and metric."""
    import time

    from latentgap.cli import _tests
    from latentgap.records import arm_quantity
    from latentgap.store import Store
    from tests.test_store import _run

    def run(run_id, ae_hash, dataset, profile, latent, recon):
        rows = [
            dict(run_id=run_id, **arm_quantity(arm), metric=m, value=v, fold=0, seed=0)
            for arm, v in (("latent", latent), ("reconstruction", recon))
            for m in ("balanced_accuracy", "auroc", "mcc")
        ]
        meta = dict(ae_hash=ae_hash, dataset=dataset, profile=profile, spec={"latent_norm": "paper"})
        Store(tmp_path).write_run({**_run(run_id), **meta}, {"metrics": rows})
        time.sleep(0.01)

    run("a-chest-old", "ha", "chest", "quick", 0.9, 0.7)  # rerun below: left out
    run("a-chest", "ha", "chest", "quick", 0.6, 0.7)
    run("a-ct", "ha", "ct", "quick", 0.5, 0.7)
    run("b-chest", "hb", "chest", "quick", 0.62, 0.7)
    run("smoke", "hc", "chest", "smoke", 0.1, 0.9)
    tests = _tests(Store(tmp_path))
    assert list(tests.profile.unique()) == ["quick"] and len(tests) == 3
    row = tests[tests.metric == "balanced_accuracy"].iloc[0]
    assert row.n_units == 3 and row.n_pairs == 3
    assert row.mean_difference == pytest.approx(np.mean([0.6 - 0.7, 0.5 - 0.7, 0.62 - 0.7]))
