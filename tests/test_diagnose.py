"""diagnose() in-process on every embedded benchmark (reduced), checking what lands in the store."""

import numpy as np
import pytest

from latentgap.datasets.registry import BENCHMARKS, DEFAULT_DATASET
from latentgap.diagnose import diagnose, subsample_groups
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store


@pytest.mark.slow
@pytest.mark.parametrize("dataset", [b for b in BENCHMARKS if b != DEFAULT_DATASET])  # the default: test_cli
def test_diagnose_every_embedded_benchmark(dataset, tmp_path):
    run_id = diagnose(DiagnosisSpec("zoo:sd-vae-mini", dataset, max_samples=150, device="cpu"), tmp_path)
    store = Store(tmp_path)
    gap = store.gap_table().iloc[0]
    assert gap.run_id == run_id and gap.dataset == dataset and gap.synthetic
    assert gap.gap == pytest.approx(gap.reconstruction - gap.latent, abs=1e-9)
    summary = store.runs().iloc[0].summary
    assert '"dataset_card"' in summary and "SYNTHETIC" in summary


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
    summary = store.run_spec(run_id)["summary"]
    assert summary["reconstruction"].startswith("not available") and summary["gallery"] is None
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
    assert store.run_spec(second)["summary"]["arms_reused"] == ["image fold 0"]
    image = lambda run: store.results(run).query("arm == 'image'").set_index(["metric", "fold"]).value
    assert image(first).equals(image(second))
    history = lambda run: store.training(run).set_index("arm").history
    assert history(first)["image"] == history(second)["image"]
    assert history(first)["latent"] != history(second)["latent"]  # the AE's own arms are trained for it
