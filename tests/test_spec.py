"""Profiles: the AE input size rule (deep-compression AEs keep a usable latent grid in quick)."""

import re

import pytest
import torch

from latentgap.spec import PROFILES, QUICK


@pytest.mark.parametrize("factor", [4, 8, 16, 32])
def test_every_ae_gets_at_least_a_4x4_latent_in_every_profile(factor):
    for profile in PROFILES.values():
        size = profile.ae_resolution(factor)
        assert size % factor == 0 and size // factor >= 4
        assert size == profile.resolution or factor == 32  # only deep compression changes the input size


def test_an_f32_autoencoder_gets_a_4x4_latent_in_quick():
    from latentgap.autoencoders.loading import load_autoencoder

    ae = load_autoencoder("zoo:taesana-encoder")  # real TAESana weights, f32
    size = QUICK.ae_resolution(ae.downsampling_factor)
    with torch.no_grad():
        z = ae.encode(torch.zeros(1, ae.in_channels, size, size))
    assert ae.downsampling_factor == 32 and size == 128 and tuple(z.shape[-2:]) == (4, 4)
    assert QUICK.ae_resolution(8) == QUICK.resolution == 64  # f8 AEs keep the quick input size


def test_every_measuring_profile_stores_the_papers_deviations():
    from latentgap.spec import PAPER_DEVIATIONS

    for name in ("quick", "paper"):
        assert PAPER_DEVIATIONS in PROFILES[name].deviations
    assert "AdamW" in QUICK.deviations and "cosine" in QUICK.deviations  # the tuned recipe says what it changed


def test_the_paper_profile_keeps_the_papers_recipe():
    paper = PROFILES["paper"].train
    assert (paper.optimizer, paper.weight_decay, paper.warmup_epochs, paper.schedule, paper.val_ema) == (
        "adam",
        0.0,
        0,
        "step",
        0.0,
    )
    assert (paper.epochs, paper.lr, paper.batch_size, paper.drw_epoch, paper.patience) == (60, 1e-4, 256, 10, 15)
    assert "layer_scale" not in PROFILES["paper"].latent_model  # ConvNeXt's own 1e-6


def test_quick_and_smoke_keep_one_replicate_and_no_learning_curve():
    from latentgap.spec import DiagnosisSpec

    for name in ("quick", "smoke"):
        spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile=name)
        assert spec.replicate_seeds() == (0,) and spec.learning_fractions() == (1.0,) and PROFILES[name].folds == (0,)
    assert DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", seed=4).replicate_seeds() == (4,)


def test_the_standard_profile_is_quick_replicated_with_learning_curves():
    from dataclasses import replace

    from latentgap.diagnose import steps
    from latentgap.spec import DiagnosisSpec

    standard = PROFILES["standard"]
    assert replace(standard, name="quick", folds=(0,), seeds=(0,), train_fractions=(1.0,), deviations="") == replace(
        QUICK, deviations=""
    )  # the quick recipe and models, nothing else changed
    assert standard.folds == (0, 1, 2, 3, 4) and standard.train_fractions == (0.25, 0.5, 1.0)
    assert "3 seeds x 5 folds" in standard.deviations and QUICK.deviations in standard.deviations
    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="standard")
    assert spec.replicate_seeds() == (0, 1, 2) and spec.learning_fractions() == (0.25, 0.5, 1.0)
    assert DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="standard", seed=5).replicate_seeds() == (5, 6, 7)
    assert DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="standard", seeds="1").replicate_seeds() == (1,)
    training = [n for n in steps(spec) if n.startswith("train ")]
    assert len(training) == 3 * 5 * 3 * len(spec.arms())  # 15 replicates x 3 fractions x every arm
    assert "train latent (seed 2, fold 4, 25 %)" in training


@pytest.mark.parametrize(
    "fractions,message",
    [
        ("0.5", "include 1"),
        ("0,1", "in (0, 1]"),
        ("0.5,1.5,1", "in (0, 1]"),
        ("0.5,0.5,1", "distinct"),
        ("half,1", "like 0.25,0.5,1"),
        ("nan,1", "in (0, 1]"),
        ("", "like 0.25,0.5,1"),
    ],
)
def test_bad_train_fractions_are_one_line_errors(fractions, message):
    from latentgap.errors import LatentgapError
    from latentgap.spec import DiagnosisSpec

    with pytest.raises(LatentgapError, match=re.escape(message)) as err:
        DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", train_fractions=fractions)
    assert "\n" not in str(err.value) and "--train-fractions" in str(err.value)


def test_train_fractions_are_normalised_and_survive_the_job_queue():
    import json

    from latentgap.jobs import spec_from_dict
    from latentgap.spec import DiagnosisSpec

    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", train_fractions="1, 0.25")
    assert spec.train_fractions == (0.25, 1.0) and spec.learning_fractions() == (0.25, 1.0)
    queued = spec_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert queued.train_fractions == (0.25, 1.0)


def test_arms_keeps_image_and_latent_in_the_profiles_order_and_survives_the_job_queue():
    import json

    from latentgap.jobs import spec_from_dict
    from latentgap.spec import DiagnosisSpec

    spec = DiagnosisSpec("zoo:null-s2d", "phantom-chest", only_arms="latent-film-distilled, reconstruction-s2d")
    assert spec.arms() == ("image", "latent", "reconstruction-s2d", "latent-film-distilled")  # image: the teacher
    assert spec_from_dict(json.loads(json.dumps(spec.to_dict()))).arms() == spec.arms()
    assert DiagnosisSpec("zoo:null-s2d", "phantom-chest").arms()[-1] == "latent-film-distilled"  # default: all
