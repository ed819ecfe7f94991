"""diagnose() in-process on every embedded benchmark (reduced), checking what lands in the store."""

import numpy as np
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
