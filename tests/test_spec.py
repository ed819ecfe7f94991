"""Profiles: the AE input size rule (deep-compression AEs keep a usable latent grid in quick)."""

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
