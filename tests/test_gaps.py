"""The three gaps read against the null control (results --kind gap)."""

import pandas as pd
import pytest

from latentgap.gaps import CONTROL, FLAG, NO_CONTROL, gap_report


def _gap_row(run_id, ae, matched, lo, hi, dataset="phantom-chest", seed=0, t="2026-11-30 10:00", n_images=2400):
    return dict(
        run_id=run_id,
        autoencoder=ae,
        dataset=dataset,
        profile="quick",
        seed=seed,
        gap=0.2,
        gap_ci_low=0.1,
        gap_ci_high=0.3,
        matched_gap=matched,
        matched_gap_ci_low=lo,
        matched_gap_ci_high=hi,
        n_replicates=1,
        n_folds=1,
        folds="0",
        seeds=str(seed),
        n_images=n_images,
        created_at=pd.Timestamp(t),
    )


def _training(run_id, converged=(True, True, True)):
    return [
        dict(run_id=run_id, arm=s, converged=c) for s, c in zip(("image", "latent", "reconstruction-s2d"), converged)
    ]


def test_excess_gap_is_the_matched_gap_minus_the_controls():
    gap = pd.DataFrame([_gap_row("ctl", CONTROL, 0.01, -0.02, 0.04), _gap_row("ae", "zoo:x", 0.11, 0.05, 0.17)])
    training = pd.DataFrame(_training("ctl") + _training("ae", (True, False, True)))
    rows = gap_report(gap, training).set_index("run_id")
    ae, ctl = rows.loc["ae"], rows.loc["ctl"]
    assert ae.paper_gap == 0.2 and ae.control_run_id == "ctl" and ae.flag is None
    assert abs(ae.excess_gap - 0.10) < 1e-12
    assert abs(ae.excess_gap_ci_low - (0.05 - 0.04)) < 1e-12 and abs(ae.excess_gap_ci_high - (0.17 + 0.02)) < 1e-12
    assert pd.isna(ctl.excess_gap) and ctl.flag is None
    assert not ae.converged and ctl.converged  # any main arm not converged


def test_a_control_whose_interval_excludes_zero_flags_the_runs_read_against_it():
    gap = pd.DataFrame([_gap_row("ctl", CONTROL, 0.15, 0.08, 0.22), _gap_row("ae", "zoo:x", 0.2, 0.1, 0.3)])
    rows = gap_report(gap, pd.DataFrame(_training("ctl") + _training("ae"))).set_index("run_id")
    assert rows.loc["ae"].flag == FLAG and rows.loc["ctl"].flag == FLAG


def test_a_rotated_or_flow_control_that_excludes_zero_flags_the_dataset_and_names_itself():
    """null-s2d's matched arms see the same pixels (its interval is about [0, 0]); -rot and -flow show training
    noise, so they flag too: every run on that dataset and profile, with the failing control named."""
    gap = pd.DataFrame(
        [
            _gap_row("ctl", CONTROL, 0.0, 0.0, 0.0),
            _gap_row("rot", "zoo:null-s2d-rot", 0.09, 0.04, 0.14),
            _gap_row("flow", "zoo:null-s2d-flow", 0.01, -0.03, 0.05),
            _gap_row("ae", "zoo:x", 0.2, 0.1, 0.3),
            _gap_row("ae-ct", "zoo:x", 0.2, 0.1, 0.3, dataset="phantom-ct"),
            _gap_row("ctl-ct", CONTROL, 0.0, 0.0, 0.0, dataset="phantom-ct"),
        ]
    )
    rows = gap_report(gap, pd.DataFrame(columns=["run_id", "arm", "converged"])).set_index("run_id")
    assert rows.loc["ae"].flag == rows.loc["ctl"].flag == rows.loc["rot"].flag
    assert "null control null-s2d-rot: matched gap excludes 0" in rows.loc["ae"].flag
    assert rows.loc["ae"].flag.startswith("protocol cannot separate AE from classifier here")
    assert rows.loc["ae-ct"].flag is None  # another dataset: its own controls held 0
    assert abs(rows.loc["ae"].excess_gap - 0.2) < 1e-12  # the excess is still read against null-s2d


def test_the_control_is_matched_by_dataset_and_replicates():
    gap = pd.DataFrame(
        [
            _gap_row("ctl-ct", CONTROL, 0.0, -0.1, 0.1, dataset="phantom-ct"),
            _gap_row("ctl-s1", CONTROL, 0.0, -0.1, 0.1, seed=1, t="2026-11-30 12:00"),
            _gap_row("ctl-s0", CONTROL, 0.0, -0.1, 0.1, seed=0, t="2026-11-30 09:00"),
            _gap_row("ae", "zoo:x", 0.1, 0.0, 0.2),
            _gap_row("lonely", "zoo:x", 0.1, 0.0, 0.2, dataset="phantom-echo"),
            _gap_row("smaller", "zoo:x", 0.1, 0.0, 0.2, n_images=1200),
        ]
    )
    rows = gap_report(gap, pd.DataFrame(columns=["run_id", "arm", "converged"])).set_index("run_id")
    assert rows.loc["ae"].control_run_id == "ctl-s0"  # same seeds and folds win over the newer run of another seed
    assert rows.loc["ae"].n_replicates == 1
    assert pd.isna(rows.loc["lonely"].control_run_id) and rows.loc["lonely"].flag == NO_CONTROL
    assert pd.isna(rows.loc["smaller"].control_run_id)  # another subsample of the set: not its control
    assert pd.isna(rows.loc["ae"].converged)  # no stored histories: unknown, not true


def test_learning_report_gives_each_arm_and_fraction_its_run_level_mean_and_the_gaps_there():
    from latentgap.gaps import learning_report

    base = dict(run_id="r", autoencoder="zoo:x", dataset="phantom-chest", synthetic=True, profile="standard")
    base |= dict(metric="balanced_accuracy", created_at=pd.Timestamp("2026-12-01"))
    rows = []
    for f, n, latent, recon, s2d in ((0.5, 40, 0.5, 0.7, 0.6), (1.0, 80, 0.7, 0.75, 0.72)):
        for fold in (0, 1):  # two replicates, then the run-level rows (fold and seed null)
            for arm, v in (("latent", latent), ("reconstruction", recon), ("reconstruction-s2d", s2d)):
                rows.append(
                    dict(base, arm=arm, quantity="score", fold=fold, seed=0, train_fraction=f, n_train=n, value=v)
                )
        for arm, v in (("latent", latent), ("reconstruction", recon), ("reconstruction-s2d", s2d)):
            rows.append(
                dict(base, arm=arm, quantity="score", fold=None, seed=None, train_fraction=f, n_train=n, value=v)
            )
        for q, v in (("gap", recon - latent), ("matched_gap", s2d - latent)):
            rows.append(dict(base, arm=None, quantity=q, fold=None, seed=None, train_fraction=f, n_train=n, value=v))
    curve = pd.DataFrame(rows).assign(ci_low=lambda d: d.value - 0.1, ci_high=lambda d: d.value + 0.1)
    out = learning_report(curve).set_index(["arm", "train_fraction"])
    assert len(out) == 3 * 2 and set(out.n_replicates) == {2}
    assert out.loc[("latent", 0.5), "matched_gap"] == pytest.approx(0.1)
    assert out.loc[("latent", 1.0), "paper_gap"] == pytest.approx(0.05)
    assert out.loc[("latent", 0.5), "matched_gap_ci_high"] == pytest.approx(0.2)
    assert out.loc[("reconstruction", 1.0), "n_train"] == 80
