"""The control protocol of `scripts/control_check.sh`, shared by the test_control_answers_* files: each control on
a SYNTHETIC phantom, quick profile, seeds 0, 1, 2, training only the arms its answer needs (`--arms`; image and
latent always run), at 1,200 of the quick profile's 2,400 images (whole groups). Even so it is about 2 CPU-hours
(measured: 40-50 CPU-minutes per benchmark), so the files are
marked `control` and run only with LATENTGAP_CONTROL_TESTS=1 (tests/conftest.py); `scripts/control_check.sh`
measures the same at the full 2,400 (README, *Controls*)."""

import pytest

from latentgap.diagnose import diagnose
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store

NULL_CONTROLS = ("zoo:null-s2d", "zoo:null-s2d-rot", "zoo:null-s2d-flow")
SEEDS = "0,1,2"
TOLERANCE = 0.03  # a lossless control's matched gap must lie within ±0.03 (issue 15)
MAX_SAMPLES = 1200
# where the protocol fails a control (issue 15 stays open on it): measured with seeds 0, 1, 2, 2026-12-01
KNOWN_FAILURES = {
    ("phantom-derm", "zoo:blur-f8"): "matched fidelity loss +0.018, not > 0.1: the ConvNeXt on the 8x8 grid does "
    "not use the detail the blur removes (README, Controls)",
    ("phantom-ct", "zoo:null-s2d"): "matched gap +0.063 [+0.014, +0.122]: the latent ConvNeXt is near chance "
    "(0.28) on 720 training images, so its replicates are noise (README, Controls)",
    ("phantom-ct", "zoo:null-s2d-rot"): "matched gap +0.063 [+0.018, +0.109] (README, Controls)",
    ("phantom-ct", "zoo:null-s2d-flow"): "matched gap +0.167 [+0.114, +0.231] at 2,400 images (README, Controls)",
}


def control_rows(home, dataset: str, controls: tuple[str, ...], arms: str):
    """gap_report rows (run_id index) of `controls` diagnosed on `dataset` into the workspace `home`."""
    for ae in controls:
        spec = DiagnosisSpec(ae, dataset, "quick", seeds=SEEDS, max_samples=MAX_SAMPLES, device="cpu", only_arms=arms)
        diagnose(spec, home)
    rows = Store(home).gap_report().set_index("autoencoder")
    for ae, r in rows.iterrows():  # the measured answers, in the log (pytest -s) whether the test passes or not
        print(
            f"{ae} on {dataset} ({r.n_images} images, {r.n_replicates} replicates): matched gap {r.matched_gap:+.3f} "
            f"[{r.matched_gap_ci_low:+.3f}, {r.matched_gap_ci_high:+.3f}], matched fidelity loss "
            f"{r.matched_fidelity_loss:+.3f}"
        )
    return rows


def cases(dataset: str, controls: tuple[str, ...]) -> list:
    """pytest params (dataset, control) of `controls` on `dataset`; a control the protocol is known to fail there is
    an xfail (not strict: replicate training on another CPU may land on either side) that names what was measured."""
    known = KNOWN_FAILURES.get
    return [
        pytest.param(
            dataset, ae, marks=[pytest.mark.xfail(reason=known((dataset, ae)))] if known((dataset, ae)) else []
        )
        for ae in controls
    ]


def assert_no_matched_gap(row) -> None:
    """A lossless control: matched gap within ±TOLERANCE and its replicate interval containing 0."""
    assert row.n_replicates == 3, row.n_replicates
    interval = f"{row.matched_gap:+.3f} [{row.matched_gap_ci_low:+.3f}, {row.matched_gap_ci_high:+.3f}]"
    assert abs(row.matched_gap) <= TOLERANCE, f"{row.name} on {row.dataset}: matched gap {interval}"
    assert row.matched_gap_ci_low <= 0 <= row.matched_gap_ci_high, f"{row.name} on {row.dataset}: {interval}"
