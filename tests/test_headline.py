"""The calibrated headline, built from `gaps.gap_report` rows as the Overview and the report build it."""

import pandas as pd

from latentgap.gaps import CONTROL, FLAG, NO_CONTROL, gap_report
from latentgap.headline import HTML, MARKDOWN, MATCHED, MAX_GROUPS, headlines, overview_headline

SEEDS = "0,1,2"


def _gap_row(run_id, ae, matched, lo, hi, dataset="phantom-chest", synthetic=True, folds="0", t="2026-11-30 10:00"):
    """A `Store.gap_table()` row of a run with three replicates."""
    return dict(
        run_id=run_id,
        autoencoder=ae,
        family="null" if ae == CONTROL else "sd-vae",
        dataset=dataset,
        synthetic=synthetic,
        profile="quick",
        seed=0,
        image=0.8,
        reconstruction=0.78,
        latent=0.6,
        gap=0.18,
        gap_ci_low=0.1,
        gap_ci_high=0.25,
        gap_replicate_std=0.02,
        fidelity_loss=0.02,
        matched_gap=matched,
        matched_gap_ci_low=lo,
        matched_gap_ci_high=hi,
        n_replicates=3,
        n_folds=1,
        folds=folds,
        seeds=SEEDS,
        n_images=2400,
        created_at=pd.Timestamp(t),
    )


def _convergence(run_id, latent=(True, True, True), image=(True, True, True)):
    """`Store.convergence()` rows: one per arm x seed (fold 0)."""
    arms = {"image": image, "latent": latent, "reconstruction-s2d": (True, True, True), "latent-noise": (False,) * 3}
    return [
        dict(run_id=run_id, arm=arm, seed=s, fold=0, converged=c)
        for arm, flags in arms.items()
        for s, c in enumerate(flags)
    ]


def _headline(gap_rows, convergence, run_id="ae", markup=MARKDOWN):
    conv = pd.DataFrame(convergence, columns=["run_id", "arm", "seed", "fold", "converged"])
    every = gap_report(pd.DataFrame(gap_rows), conv)
    [text] = headlines(every[every.run_id == run_id], every, conv, "balanced_accuracy", markup)
    return text


def test_with_a_control_the_headline_shows_its_gap_beside_the_excess_gap():
    rows = [_gap_row("ctl", CONTROL, 0.01, -0.02, 0.04), _gap_row("ae", "zoo:x", 0.11, 0.05, 0.17)]
    text = _headline(rows, _convergence("ctl") + _convergence("ae"))
    assert f"**Matched gap** ({MATCHED}): **+0.110 [+0.050, +0.170]** balanced accuracy" in text
    assert "3 replicates (seeds 0,1,2; folds 0)" in text
    assert "(run `ctl`): matched gap +0.010 [-0.020, +0.040]" in text
    assert "**excess gap +0.100 [+0.010, +0.190]**" in text  # 0.05 − 0.04, 0.17 + 0.02
    assert "Paper gap (ResNet on reconstructions − ConvNeXt on latents" in text and "+0.180 [+0.100, +0.250]" in text
    assert "python -m latentgap diagnose" not in text and "Not converged" not in text and "⚠" not in text


def test_without_a_control_the_headline_gives_the_command_that_runs_one():
    text = _headline([_gap_row("ae", "zoo:x", 0.11, 0.05, 0.17)], _convergence("ae"))
    command = "python -m latentgap diagnose --ae zoo:null-s2d --dataset phantom-chest --profile quick --seeds 0,1,2"
    assert f"`{command} --folds 0`" in text
    assert "excess gap" not in text.replace("no excess gap", "")
    assert NO_CONTROL not in text  # said once, with its command, not again as a flag


def test_the_command_names_the_official_split_and_quotes_a_path():
    row = _gap_row("ae", "zoo:x", 0.1, 0.0, 0.2, dataset="my data/chest", folds="-1")
    text = _headline([row], [])
    assert "--dataset 'my data/chest' --profile quick --seeds 0,1,2 --folds official`" in text


def test_the_arms_that_did_not_converge_are_named():
    rows = [_gap_row("ctl", CONTROL, 0.01, -0.02, 0.04), _gap_row("ae", "zoo:x", 0.11, 0.05, 0.17)]
    text = _headline(rows, _convergence("ctl") + _convergence("ae", latent=(True, False, True), image=(False,) * 3))
    line = next(line for line in text.splitlines() if "Not converged" in line)
    assert "image (3 of 3 replicates), latent (1 of 3 replicates)" in line
    assert "reconstruction-s2d" not in line and "latent-noise" not in line  # converged / not behind the gaps
    assert "Convergence: not recorded" in _headline(rows, [])  # no histories: unknown, never "converged"


def test_the_controls_flag_is_shown():
    rows = [_gap_row("ctl", CONTROL, 0.15, 0.08, 0.22), _gap_row("ae", "zoo:x", 0.2, 0.1, 0.3)]
    assert f"⚠ **{FLAG}**" in _headline(rows, _convergence("ctl") + _convergence("ae"))
    control = _headline(rows, [], run_id="ctl")
    assert "this run is the null control" in control and FLAG in control and "**excess gap" not in control


def test_a_run_without_the_matched_arm_says_so():
    text = _headline([_gap_row("ae", "zoo:x", None, None, None)], [])
    assert "not measured in this run (it has no reconstruction-s2d arm" in text and "+0.180 [+0.100, +0.250]" in text


def test_real_and_synthetic_data_are_marked():
    real = _headline([_gap_row("ae", "zoo:x", 0.1, 0.0, 0.2, dataset="chest-xray-pneumonia", synthetic=False)], [])
    synthetic = _headline([_gap_row("ae", "zoo:x", 0.1, 0.0, 0.2)], [])
    assert "**REAL data**" in real and "SYNTHETIC" not in real
    assert "**SYNTHETIC data**" in synthetic and "REAL" not in synthetic


def test_html_escapes_the_stores_words():
    text = _headline([_gap_row("ae", "upload:<b>vae</b>.safetensors", 0.1, 0.0, 0.2)], [], markup=HTML)
    assert text.startswith('<div class="headline"><h3><code>upload:&lt;b&gt;vae&lt;/b&gt;.safetensors</code>')
    assert "<b>SYNTHETIC data</b>" in text and "<br>" in text


def test_the_overview_headlines_the_newest_run_of_each_group_controls_last():
    rows = [  # newest first, as Store.gap_table orders them
        _gap_row("ae-new", "zoo:x", 0.11, 0.05, 0.17, t="2026-11-30 12:00"),
        _gap_row("ctl", CONTROL, 0.01, -0.02, 0.04, t="2026-11-30 11:00"),
        _gap_row("ae-old", "zoo:x", 0.30, 0.20, 0.40, t="2026-11-30 10:00"),
        *(_gap_row(f"other-{i}", f"zoo:y{i}", 0.1, 0.0, 0.2, t="2026-11-30 09:00") for i in range(MAX_GROUPS)),
    ]
    every = gap_report(pd.DataFrame(rows), pd.DataFrame(columns=["run_id", "arm", "seed", "fold", "converged"]))
    text = overview_headline(every, every, pd.DataFrame(columns=["run_id", "arm", "converged"]), "balanced_accuracy")
    titles = [line for line in text.splitlines() if line.startswith("#### ")]
    assert len(titles) == MAX_GROUPS and "run `ae-new`" in titles[0] and "ae-old" not in text
    assert "`zoo:y0`" in titles[1] and not any(CONTROL in t for t in titles)  # the control after every AE ...
    assert "*2 more autoencoder x dataset x profile groups: in the table below.*" in text  # ... so it is cut
    assert overview_headline(every.iloc[:0], every, pd.DataFrame(), "auroc").startswith("**Headline**: no runs")
