"""diagnose() in-process on every embedded benchmark (reduced), checking what lands in the store."""

import numpy as np
import pandas as pd
import pytest

from latentgap.autoencoders.zoo import DEFAULT_AE
from latentgap.datasets.registry import BENCHMARKS, DEFAULT_DATASET
from latentgap.diagnose import diagnose, subsample_groups
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset", [b for b in BENCHMARKS if BENCHMARKS[b].synthetic and b != "phantom-chest"]
)  # test_cli
def test_diagnose_every_embedded_benchmark(dataset, tmp_path):
    run_id = diagnose(DiagnosisSpec("zoo:sd-vae-mini", dataset, max_samples=150, device="cpu"), tmp_path)
    store = Store(tmp_path)
    gap = store.gap_table().iloc[0]
    assert gap.run_id == run_id and gap.dataset == dataset and gap.synthetic
    assert gap.gap == pytest.approx(gap.reconstruction - gap.latent, abs=1e-9)
    summary = store.runs().iloc[0].summary
    assert '"dataset_card"' in summary and "SYNTHETIC" in summary


@pytest.mark.slow  # 41 s of CPU; 2.7 min wall on the shared 2-core CPU
def test_smoke_diagnosis_of_the_default_pair_on_real_chest_x_rays(tmp_path):
    """The defaults (zoo:taef2 on the embedded REAL Kermany chest X-rays), smoke profile, whole patients."""
    assert (DEFAULT_AE, DEFAULT_DATASET) == ("zoo:taef2", "chest-xray-pneumonia")
    run_id = diagnose(
        DiagnosisSpec(DEFAULT_AE, DEFAULT_DATASET, profile="smoke", max_samples=120, device="cpu"), tmp_path
    )
    store = Store(tmp_path)
    gap = store.gap_table().iloc[0]
    assert gap.run_id == run_id and gap.dataset == DEFAULT_DATASET and gap.autoencoder == DEFAULT_AE
    assert not gap.synthetic and gap.gap == pytest.approx(gap.reconstruction - gap.latent, abs=1e-9)
    summary = store.run_spec(run_id)["summary"]
    assert summary["class_names"] == ["NORMAL", "PNEUMONIA"] and summary["n_images"] <= 120
    assert summary["dataset_card"]["licence"] == "CC BY 4.0" and summary["latent_shape"] == [32, 8, 8]


def test_subsample_keeps_whole_groups():
    groups = np.repeat(np.arange(40), 3)
    idx = subsample_groups(np.zeros(120, int), groups, 50, seed=0)
    assert len(idx) <= 50 and all(np.sum(groups[idx] == g) == 3 for g in np.unique(groups[idx]))


@pytest.mark.slow
def test_an_encoder_only_autoencoder_runs_and_stores_no_reconstruction(tmp_path):
    from latentgap.store import Store

    spec = DiagnosisSpec("zoo:taesana-encoder", "phantom-chest", profile="smoke", max_samples=150, device="cpu")
    run_id = diagnose(spec, tmp_path)
    store = Store(tmp_path)
    results = store.results(run_id)
    spaces = set(results.arm) | set(results.quantity)
    assert {"image", "latent", "latent-film"} <= spaces
    assert not spaces & {"reconstruction", "reconstruction-s2d", "gap", "fidelity_loss", "matched_gap"}
    assert "probe-linear-image" in spaces and "probe-linear-reconstruction" not in spaces
    summary = store.run_spec(run_id)["summary"]
    assert summary["reconstruction"].startswith("not available") and summary["gallery"] is None
    assert summary["latent_shape"] == [32, 4, 4] and "at 128 px" in summary["ae_input"]  # f32: 128 px in, 4x4 out
    assert "psnr" not in set(store.results(run_id).metric)


@pytest.mark.slow
def test_a_second_autoencoder_reuses_the_image_arm(tmp_path):
    """The image classifier does not depend on the AE: the second AE's run takes it from the first's training."""
    spec = DiagnosisSpec("zoo:null-s2d", "phantom-chest", profile="smoke", max_samples=150, device="cpu")
    first = diagnose(spec, tmp_path)
    second = diagnose(
        DiagnosisSpec("zoo:blur-f8", "phantom-chest", profile="smoke", max_samples=150, device="cpu"), tmp_path
    )
    store = Store(tmp_path)
    assert store.run_spec(first)["summary"]["arms_reused"] == []
    assert store.run_spec(second)["summary"]["arms_reused"] == ["image (seed 0, fold 0)"]
    image = lambda run: store.results(run).query("arm == 'image'").set_index(["metric", "fold"]).value
    assert image(first).equals(image(second))
    history = lambda run: store.training(run).set_index("arm").history
    assert history(first)["image"] == history(second)["image"]
    assert history(first)["latent"] != history(second)["latent"]  # the AE's own arms are trained for it
    # probes on reconstructions are pooled exactly like those on images: lossless null-s2d scores them the same
    probe = lambda run, arm, metric: store.results(run).query("arm == @arm and metric == @metric").value.item()
    for kind in ("linear", "knn"):
        for metric in ("balanced_accuracy", "accuracy"):
            assert probe(first, f"probe-{kind}-reconstruction", metric) == probe(first, f"probe-{kind}-image", metric)
    # on grayscale phantoms the lossless control encodes the one channel: its matched arms see identical inputs
    assert store.run_spec(first)["summary"]["latent_shape"][0] == 64
    scores = store.results(first).query("metric == 'balanced_accuracy' and noise_level.isna()").set_index("arm")
    assert abs(scores.value["latent"] - scores.value["reconstruction-s2d"]) < 0.02  # the same up to float rounding
    blur = [probe(second, f"probe-linear-{space}", "auroc") for space in ("reconstruction", "image")]
    assert blur[0] != blur[1]  # the blurred reconstruction's features are not the image's


def test_arms_trains_only_the_named_arms_and_leaves_the_gaps_of_the_others_empty(tmp_path):
    """`--arms reconstruction-s2d`: image, latent and reconstruction-s2d are trained and stored, nothing else; the
    matched gap is there, the paper gap (needs the reconstruction arm) is not."""
    spec = DiagnosisSpec(
        "zoo:null-s2d-rot", "phantom-ct", profile="smoke", max_samples=150, device="cpu", only_arms="reconstruction-s2d"
    )
    run_id = diagnose(spec, tmp_path)
    store = Store(tmp_path)
    assert set(store.training(run_id).arm) == {"image", "latent", "reconstruction-s2d"}
    trained = {a for a in store.results(run_id).arm.dropna() if not a.startswith("probe-")}
    assert trained <= {"image", "latent", "reconstruction-s2d", "matched_gap"}, trained
    row = store.gap_report().query("run_id == @run_id").iloc[0]
    assert np.isfinite(row.matched_gap) and pd.isna(row.paper_gap)


def test_seeds_make_every_seed_and_fold_a_replicate_with_a_run_level_interval(tmp_path):
    """`--seeds 0,1` with two folds: four (seed, fold) replicates in one run, each training every arm; the gap is
    their mean with one stored run-level interval (not the mean of the replicates' bounds)."""
    from latentgap.diagnose import steps
    from latentgap.gaps import gap_report

    spec = DiagnosisSpec(
        "zoo:sd-vae-mini", "phantom-chest", profile="smoke", seeds="0,1", folds="0,1", max_samples=150, device="cpu"
    )
    reported = []
    run_id = diagnose(spec, tmp_path, on_step=lambda name, _: reported.append(name))
    assert reported == steps(spec) and "train latent (seed 1, fold 1)" in reported  # progress counts replicates
    store = Store(tmp_path)
    results = store.results(run_id)
    per_replicate = results[results.fold.notna()]
    assert set(zip(per_replicate.seed, per_replicate.fold)) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    training = store.training(run_id)
    assert len(training) == 4 * len(spec.arms()) and set(training.seed) == {0, 1}
    assert store.learning_curve(run_id).empty  # no --train-fractions: no learning curve
    latent = training[(training.arm == "latent") & (training.fold == 0)].set_index("seed").history
    assert latent[0] != latent[1]  # the seed changes the training, not only the label

    row = gap_report(store.gap_table(), store.training()).iloc[0]
    assert row.n_replicates == 2 * 2 and row.seeds == "0,1" and row.profile == "smoke"
    gaps = results[(results.quantity == "gap") & (results.metric == "balanced_accuracy")]
    replicates, run_level = gaps[gaps.fold.notna()], gaps[gaps.fold.isna()].iloc[0]
    assert len(replicates) == 4 and pd.isna(run_level.seed)
    assert row.paper_gap == pytest.approx(replicates.value.mean()) == pytest.approx(run_level.value)
    assert (row.paper_gap_ci_low, row.paper_gap_ci_high) == (run_level.ci_low, run_level.ci_high)
    assert row.paper_gap_ci_low <= row.paper_gap <= row.paper_gap_ci_high
    assert (row.paper_gap_ci_low, row.paper_gap_ci_high) != (replicates.ci_low.mean(), replicates.ci_high.mean())


def test_progress_steps_count_every_replicate_and_seeds_survive_the_job_queue():
    import json

    from latentgap.diagnose import steps
    from latentgap.jobs import spec_from_dict

    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="smoke", seeds="2,0,1", folds="0,3")
    training = [n for n in steps(spec) if n.startswith(("train ", "probes "))]
    assert len(training) == 3 * 2 * (len(spec.arms()) + 1) and spec.seed == 2
    assert training[0] == "train image (seed 2, fold 0)" and training[-1] == "probes (seed 1, fold 3)"
    queued = spec_from_dict(json.loads(json.dumps(spec.to_dict())))  # the dashboard's queue stores JSON
    assert queued.seeds == (2, 0, 1) and queued.replicate_seeds() == spec.replicate_seeds()
    assert DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", seed=4).replicate_seeds() == (4,)


def test_train_fractions_store_a_learning_curve_beside_unchanged_metrics(learning_home, capsys):
    """`--train-fractions 0.5,1`: every arm also trains on half the training split (whole patients); the curve's
    rows land in `learning_curve` (1.0 repeating the replicate's own scores), never in `metrics`."""
    import json

    from latentgap.cli import main
    from latentgap.diagnose import steps

    home, run_id, reported = learning_home
    store = Store(home)
    spec = DiagnosisSpec(**{k: v for k, v in store.run_spec(run_id)["spec"].items() if k != "profile_settings"})
    assert spec.learning_fractions() == (0.5, 1.0) and reported == steps(spec)  # progress counts the extra training
    assert "train latent (seed 0, fold 0, 50 %)" in reported
    curve = store.learning_curve(run_id)
    arms = set(store.run_spec(run_id)["summary"]["arms"])
    replicate = curve[curve.fold.notna() & (curve.quantity == "score")]
    assert set(zip(replicate.arm, replicate.train_fraction)) == {(a, f) for a in arms for f in (0.5, 1.0)}
    n_train = replicate.groupby("train_fraction").n_train.unique()
    assert len(n_train[0.5]) == len(n_train[1.0]) == 1  # every arm of a fraction saw the same images
    assert 0.35 <= n_train[0.5][0] / n_train[1.0][0] <= 0.5  # whole patients, at most half

    results = store.results(run_id)
    clean = results[(results.quantity == "score") & results.noise_level.isna() & results.fold.notna()]
    assert clean.groupby(["arm", "metric", "fold", "seed"]).size().max() == 1  # no fraction rows in metrics
    full = replicate[replicate.train_fraction == 1.0].set_index("arm")[["value", "ci_low", "ci_high"]]
    same = clean[clean.metric == "balanced_accuracy"].set_index("arm").loc[full.index, ["value", "ci_low", "ci_high"]]
    pd.testing.assert_frame_equal(full, same, check_dtype=False)  # 1.0: the replicate's own score and interval

    main(["results", "--kind", "learning", "--json", "--home", str(home)])
    rows = json.loads(capsys.readouterr().out)
    assert {(r["arm"], r["train_fraction"]) for r in rows} == {(a, f) for a in arms for f in (0.5, 1.0)}
    by = {(r["arm"], r["train_fraction"]): r for r in rows}
    for f in (0.5, 1.0):
        r = by["latent", f]
        assert r["n_replicates"] == 1 and r["ci_low"] <= r["value"] <= r["ci_high"]
        assert r["matched_gap"] == pytest.approx(by["reconstruction-s2d", f]["value"] - r["value"])
        assert r["paper_gap"] == pytest.approx(by["reconstruction", f]["value"] - r["value"])
        assert r["matched_gap_ci_low"] <= r["matched_gap"] <= r["matched_gap_ci_high"]
    assert by["latent", 0.5]["n_train"] < by["latent", 1.0]["n_train"]
