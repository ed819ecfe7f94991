"""The arms registry: every arm names a known input and builds its network; the matched-architecture inputs are the
latent arm's grid and normalisation applied to pixels."""

import numpy as np
import pytest
import torch

from latentgap.arms import ARMS, INPUTS, LATENT_GRIDS, build_model, prepare_inputs, space_to_depth
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.spec import PROFILES, DiagnosisSpec, get_profile


@pytest.mark.parametrize("name", list(ARMS))
def test_every_arm_builds_its_network_on_its_input(name):
    arm, profile = ARMS[name], get_profile("smoke")
    assert arm.input in INPUTS
    channels = 4 if arm.input in LATENT_GRIDS else 3
    model = build_model(arm, DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", "smoke"), profile, channels, 3, {})
    expected = ConvNeXt if arm.input in LATENT_GRIDS and arm.model == "default" else ResNet
    assert isinstance(model, expected)
    x = torch.randn(2, channels, 8 if arm.input in LATENT_GRIDS else 64, 8 if arm.input in LATENT_GRIDS else 64)
    out = model(x, torch.ones(2)) if arm.film else model(x)
    assert out.shape == (2, 3)


def test_profiles_only_name_registered_arms():
    for profile in PROFILES.values():
        assert set(profile.arms) <= set(ARMS)


def test_space_to_depth_is_lossless_and_on_the_latent_grid():
    x = np.random.default_rng(0).random((2, 3, 16, 16)).astype(np.float32)
    s = space_to_depth(x, 8)
    assert s.shape == (2, 3 * 64, 2, 2)
    back = torch.nn.functional.pixel_shuffle(torch.from_numpy(s), 8).numpy()
    np.testing.assert_array_equal(back, x)


def test_matched_inputs_of_a_lossless_reconstruction_are_identical():
    rng = np.random.default_rng(1)
    images = rng.random((20, 3, 16, 16)).astype(np.float32)
    z = rng.standard_normal((20, 4, 2, 2)).astype(np.float32)
    train = np.arange(12)
    inputs = prepare_inputs({"image-s2d", "reconstruction-s2d", "latent"}, images, images.copy(), z, train, 16, 8)
    assert set(inputs) == {"image-s2d", "reconstruction-s2d", "latent"}
    torch.testing.assert_close(inputs["image-s2d"], inputs["reconstruction-s2d"])
    std = inputs["image-s2d"][train].numpy().std(axis=(0, 2, 3))
    np.testing.assert_allclose(std, 0.5, rtol=1e-3)  # the latent arm's per-channel normalisation over train


def test_a_lossy_reconstruction_differs_in_the_matched_input():
    rng = np.random.default_rng(2)
    images = rng.random((20, 1, 16, 16)).astype(np.float32)
    blurred = images.reshape(20, 1, 2, 8, 2, 8).mean(axis=(3, 5), keepdims=True)
    blurred = np.broadcast_to(blurred, (20, 1, 2, 8, 2, 8)).reshape(20, 1, 16, 16).copy()
    inputs = prepare_inputs({"image-s2d", "reconstruction-s2d"}, images, blurred, None, np.arange(12), 16, 8)
    assert not torch.allclose(inputs["image-s2d"], inputs["reconstruction-s2d"], atol=1e-3)


def test_quick_latent_resnet_keeps_the_latent_grid_in_its_stem():
    quick = get_profile("quick")
    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", "quick")
    on_latents = build_model(ARMS["latent-resnet"], spec, quick, 4, 3, {})
    on_pixels = build_model(ARMS["image"], spec, quick, 3, 3, {})
    assert on_latents.stem(torch.zeros(1, 4, 8, 8)).shape[-1] == 8  # 7x7/2 + max-pool would leave 2x2
    assert on_pixels.stem(torch.zeros(1, 3, 64, 64)).shape[-1] == 16  # pixels keep the ResNet stem


def _tiny_fold(epochs: int = 2) -> tuple:
    """A 60-image fold of the smoke profile with `epochs` per training run (patience never stops it)."""
    from dataclasses import replace

    from latentgap.arms import FoldTask

    smoke = get_profile("smoke")
    profile = replace(smoke, train=replace(smoke.train, epochs=epochs, drw_epoch=epochs, patience=epochs))
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 3
    splits = (np.arange(36), np.arange(36, 48), np.arange(48, 60))
    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", "smoke")
    fold = FoldTask(spec, profile, labels, splits, 3, "cpu", np.array([0.002, 0.5, 2.0]), np.array([0.5]))
    z = torch.from_numpy(rng.standard_normal((60, 4, 8, 8)).astype(np.float32))
    images = torch.from_numpy(rng.standard_normal((60, 3, 64, 64)).astype(np.float32))
    return fold, z, images


def test_image_arm_hands_raw_teacher_logits_to_distillation():
    from latentgap.arms import train_arm

    fold, _, images = _tiny_fold()
    out = train_arm(fold, "image", images)
    assert fold.profile.train.loss == "ldam"  # a cosine head: its logits are 30 x cosines
    assert out["teacher_logits"].shape == (36, 3) and np.abs(out["teacher_logits"]).max() <= 1.0 + 1e-5


def test_distilled_arm_trains_in_two_stages(monkeypatch):
    """Stage 1 on clean latents with FiLM frozen at zero (a plain ConvNeXt), stage 2 under noise with FiLM learning."""
    import latentgap.arms as arms

    real_fit, seen = arms.fit, []

    def recording_fit(model, *args, **kwargs):
        model, history = real_fit(model, *args, **kwargs)
        film = torch.cat([p.detach().flatten() for p in model.films.parameters()])
        seen.append((np.asarray(kwargs["sigmas"]).tolist(), film.abs().max().item(), kwargs["teacher_logits"]))
        return model, history

    monkeypatch.setattr(arms, "fit", recording_fit)
    fold, z, _ = _tiny_fold()
    teacher = np.random.default_rng(1).uniform(-1, 1, (36, 3)).astype(np.float32)
    out = arms.train_arm(fold, "latent-film-distilled", z, teacher)
    (clean_sigmas, clean_film, t1), (noise_sigmas, noise_film, t2) = seen
    assert clean_sigmas == [pytest.approx(1e-5)] and clean_film == 0.0  # FiLM untouched in the clean stage
    assert noise_sigmas == pytest.approx([0.002, 0.5, 2.0]) and noise_film > 0.0  # and learning under noise
    assert t1 is teacher and t2 is teacher  # both stages distil
    t = out["training"]
    assert [h["stage"] for h in t["history"]] == ["clean", "clean", "noise", "noise"]
    assert t["epochs_run"] == 4 and t["best_epoch"] >= 2  # the model kept is the noise stage's
