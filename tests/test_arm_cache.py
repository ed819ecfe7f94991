"""AE-independent arms are trained once per (data, profile, seed, fold) and reused by later runs."""

from dataclasses import replace

import numpy as np
import torch

from latentgap.arms import FoldTask, train_arm
from latentgap.spec import DiagnosisSpec, get_profile


def _fold(tmp_path, seed=0, cache=True):
    """A tiny fold on SYNTHETIC data: 3 classes of noise images with a class-dependent mean."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    spec = DiagnosisSpec("zoo:null-s2d", "phantom-chest", "smoke", seed=seed)
    profile = replace(get_profile("smoke"), train=replace(get_profile("smoke").train, epochs=2, drw_epoch=1))
    splits = (
        np.nonzero(np.arange(60) % 5 >= 2)[0],
        np.nonzero(np.arange(60) % 5 == 0)[0],
        np.nonzero(np.arange(60) % 5 == 1)[0],
    )
    task = FoldTask(
        spec,
        profile,
        labels,
        splits,
        3,
        "cpu",
        np.array([0.5]),
        np.array([0.5]),
        ("image",),
        cache_dir=str(tmp_path / "arms") if cache else None,
    )
    x = torch.from_numpy((rng.standard_normal((60, 3, 16, 16)) + labels[:, None, None, None]).astype(np.float32))
    return task, x


def test_the_image_arm_is_trained_once_and_reused(tmp_path):
    task, x = _fold(tmp_path)
    first = train_arm(task, "image", x)
    again = train_arm(task, "image", x)
    assert not first["reused"] and again["reused"]
    np.testing.assert_array_equal(first["logits"], again["logits"])
    np.testing.assert_array_equal(first["teacher_logits"], again["teacher_logits"])  # the distillation teacher too
    assert again["training"] == first["training"]


def test_anything_the_arm_depends_on_retrains_it(tmp_path):
    task, x = _fold(tmp_path)
    train_arm(task, "image", x)
    assert not train_arm(replace(task, spec=replace(task.spec, seed=1)), "image", x)["reused"]  # another seed
    assert not train_arm(task, "image", x + 0.01)["reused"]  # other pixels
    labels = task.labels.copy()
    labels[:2] = 2
    assert not train_arm(replace(task, labels=labels), "image", x)["reused"]  # other labels


def test_arms_that_depend_on_the_autoencoder_are_never_reused(tmp_path):
    task, _ = _fold(tmp_path)
    z = torch.randn(60, 4, 2, 2)
    task = replace(task, arms=("latent",))
    assert not train_arm(task, "latent", z)["reused"] and not train_arm(task, "latent", z)["reused"]
    assert not (tmp_path / "arms").exists()
