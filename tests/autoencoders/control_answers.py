"""The control protocol of `scripts/control_check.sh`, shared by the test_control_answers_* files (one per benchmark,
so that the suite's workers run them side by side): each control on a SYNTHETIC phantom, quick profile, seeds 0, 1,
2, training only the arms its answer needs (`--arms`; image and latent always run). CI-sized: 1,200 of the quick
profile's 2,400 images (whole groups), so that the three files add about 27 minutes to CI on 2 cores, not an hour;
the script measures the full 2,400 (README, *Controls*)."""

from latentgap.diagnose import diagnose
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store

NULL_CONTROLS = ("zoo:null-s2d", "zoo:null-s2d-rot", "zoo:null-s2d-flow")
SEEDS = "0,1,2"
TOLERANCE = 0.03  # a lossless control's matched gap must lie within ±0.03 (issue 15)
MAX_SAMPLES = 1200


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


def assert_null_controls_show_no_matched_gap(rows) -> None:
    """Every lossless control: matched gap within ±TOLERANCE and its replicate interval containing 0."""
    for ae in NULL_CONTROLS:
        row = rows.loc[ae]
        assert row.n_replicates == 3, (ae, row.n_replicates)
        interval = f"{row.matched_gap:+.3f} [{row.matched_gap_ci_low:+.3f}, {row.matched_gap_ci_high:+.3f}]"
        assert abs(row.matched_gap) <= TOLERANCE, f"{ae} on {row.dataset}: matched gap {interval}"
        assert row.matched_gap_ci_low <= 0 <= row.matched_gap_ci_high, f"{ae} on {row.dataset}: {interval}"
