"""The arms of a diagnosis: which classifier trains on which input space, and how (the paper's ablations).

`ARMS` is the registry: one `Arm` per name, owning its input space, network (ResNet for pixels, ConvNeXt for
latents, or an override), noise / FiLM / distillation settings and whether it is evaluated per noise level.
`train_arm` trains one arm of one fold and evaluates it; every executor (in-process, Ray) runs this function.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.train import CLEAN_SIGMA, fit, head_scale, predict_logits

if TYPE_CHECKING:
    from collections.abc import Iterator

    from latentgap.spec import DiagnosisSpec, Profile


@dataclass(frozen=True)
class Arm:
    """One classifier of a diagnosis: its input space and how it is trained (the paper's ablations)."""

    input: str  # an INPUTS name: "image" | "reconstruction" | "latent" | "image-s2d" | "reconstruction-s2d"
    model: str = "default"  # "default": ResNet for pixels, ConvNeXt for latent grids; "resnet": ResNet on latents
    noise: bool = False  # trained across the EDM noise levels (x + σ·ε)
    film: bool = False  # FiLM-conditioned on σ
    distill: bool = False  # image-space teacher of the same fold
    pretrained: bool = True  # start from the user's backbone weights when given (--image-weights / --latent-weights)
    noise_curve: bool = False  # also evaluated at every evaluation noise level (the per-noise-level curves)
    color: str = "#8c8c8c"  # how every figure draws it (plots.py)

    @property
    def needs_reconstruction(self) -> bool:
        """Whether the arm needs the AE's decoder (an encoder-only AE skips it)."""
        return self.input in ("reconstruction", "reconstruction-s2d")


ARMS: dict[str, Arm] = {
    "image": Arm("image", color="#4c72b0"),
    "reconstruction": Arm("reconstruction", color="#55a868"),
    "latent": Arm("latent", noise_curve=True, color="#c44e52"),
    # matched architecture: the latent arm's network and recipe on pixels rearranged to the latent's token grid
    # (pixel-unshuffle at the AE's factor), so image / reconstruction / latent differ only in what the AE did
    "image-s2d": Arm("image-s2d", color="#64b5cd"),
    "reconstruction-s2d": Arm("reconstruction-s2d", color="#8cc084"),
    "latent-resnet": Arm("latent", model="resnet"),  # ablation: the image architecture on latents
    "latent-noise": Arm(
        "latent", noise=True, noise_curve=True, color="#dd8452"
    ),  # ablation: noise training without FiLM
    "latent-film": Arm("latent", noise=True, film=True, noise_curve=True, color="#8172b3"),
    "latent-film-distilled": Arm("latent", noise=True, film=True, distill=True, noise_curve=True, color="#937860"),
    # ablations added only when backbone weights are given: the same arm from random initialisation
    "image-random-init": Arm("image", pretrained=False),
    "latent-random-init": Arm("latent", pretrained=False),
}

LATENT_GRIDS = ("latent", "image-s2d", "reconstruction-s2d")  # inputs on the latent's grid: ConvNeXt, latent recipe
INPUTS = ("image", "reconstruction", *LATENT_GRIDS)


def _classifier_input(x: np.ndarray, size: int, mean: float, std: float) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> 3-channel standardised tensor at the classifier resolution."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.shape[1] == 1:
        t = t.repeat(1, 3, 1, 1)
    if t.shape[-1] != size:
        t = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (t - mean) / std


def space_to_depth(x: np.ndarray, factor: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C·f², H/f, W/f): every f x f pixel block becomes channels (lossless; `pixel_unshuffle`)."""
    return torch.nn.functional.pixel_unshuffle(
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), factor
    ).numpy()


def prepare_inputs(
    needed: set[str],
    images: np.ndarray,
    recons: np.ndarray,
    z: np.ndarray,
    train: np.ndarray,
    classifier_resolution: int,
    factor: int,
) -> dict[str, torch.Tensor]:
    """The classifier inputs the fold's arms need, by INPUTS name.

    images / recons (N, C, H, W) in [0, 1]; z (N, c, h, w) already normalised (latent arm). Pixels for ResNet are
    standardised with the training images' mean / std and resized to the classifier resolution; the latent-grid
    inputs get the latent's own per-channel normalisation (mean 0, std 0.5 over the training split).
    """
    from latentgap.encode import normalize_latents

    assert needed <= set(INPUTS), needed
    pix_mean, pix_std = float(images[train].mean()), float(images[train].std() + 1e-8)
    make = {
        "image": lambda: _classifier_input(images, classifier_resolution, pix_mean, pix_std),
        "reconstruction": lambda: _classifier_input(recons, classifier_resolution, pix_mean, pix_std),
        "latent": lambda: torch.from_numpy(z),
        "image-s2d": lambda: torch.from_numpy(normalize_latents(space_to_depth(images, factor), train)[0]),
        "reconstruction-s2d": lambda: torch.from_numpy(normalize_latents(space_to_depth(recons, factor), train)[0]),
    }
    return {name: make[name]() for name in sorted(needed)}


def build_model(
    arm: Arm, spec: DiagnosisSpec, profile: Profile, in_channels: int, n_classes: int, init_reports: dict
) -> torch.nn.Module:
    """The arm's classifier: random init (same seed for every arm), or the user's backbone weights when given."""
    torch.manual_seed(spec.seed)  # identical initialisation for every arm of a run
    normed = profile.train.loss == "ldam"
    if arm.input in LATENT_GRIDS and arm.model == "default":
        model, weights = (
            ConvNeXt(in_channels, n_classes, normed_head=normed, film=arm.film, **profile.latent_model),
            spec.latent_weights,
        )
    else:
        small = arm.input in LATENT_GRIDS and profile.small_latent_stem
        model = ResNet(in_channels, n_classes, normed_head=normed, small_input=small, **profile.image_model)
        weights = spec.image_weights
    if weights and arm.pretrained:
        from latentgap.classifiers.pretrained import load_backbone

        report = load_backbone(model, weights)
        init_reports[report["source"]] = {k: v for k, v in report.items() if k != "random_init"}
    return model


@dataclass(frozen=True)
class FoldTask:
    """What every arm of one fold trains and is evaluated on: plain values, so it travels to Ray tasks."""

    spec: DiagnosisSpec
    profile: Profile
    labels: np.ndarray  # (N,)
    splits: tuple[np.ndarray, np.ndarray, np.ndarray]  # train, val, test indices
    n_classes: int
    device: str
    train_sigmas: np.ndarray  # noise levels the noise-trained arms see
    eval_sigmas: np.ndarray  # levels of the per-noise-level curves
    arms: tuple[str, ...] = ()  # the arms to train, in order (the image arm, the distillation teacher, first)
    cache_dir: str | None = None  # where AE-independent arms are cached for reuse across AEs (None: no reuse)


def train_arm(fold: FoldTask, space: str, x: torch.Tensor, teacher_logits: np.ndarray | None = None) -> dict:
    """Train arm `space` on x (N, C, H, W) and evaluate it on the test split; numpy out (both backends run this).

    Returns logits (N_test, K), sigma_logits {σ: (N_test, K)} for the noise-curve arms, teacher_logits (N_train, K)
    on clean train inputs for the image arm (the distilled arms' frozen teacher), init_reports, seconds and `reused`
    (True when an arm that does not depend on the AE came from an earlier run's cache: `arm_cache`).
    """
    from latentgap import arm_cache

    key = arm_cache.arm_key(fold, space, ARMS[space], x, sys.modules[__name__])
    if key and (hit := arm_cache.load(fold, key)) is not None:
        return hit
    out = _train_arm(fold, space, x, teacher_logits)
    if key:
        arm_cache.save(fold, key, out)
    return out


def _train_arm(fold: FoldTask, space: str, x: torch.Tensor, teacher_logits: np.ndarray | None) -> dict:
    t0, arm, profile, spec = time.perf_counter(), ARMS[space], fold.profile, fold.spec
    train, val, test = fold.splits
    init_reports = {}
    model = build_model(arm, spec, profile, x.shape[1], fold.n_classes, init_reports)
    cfg = replace(
        profile.train,
        augment="latent" if arm.input in LATENT_GRIDS else "image",
        lr=profile.distill_lr if arm.distill else profile.train.lr,
    )
    data = (x[train], fold.labels[train], x[val], fold.labels[val], cfg)
    if arm.distill and arm.noise:
        model, history = distil_two_stages(model, data, fold, space, teacher_logits)
    else:
        model, history = fit(
            model,
            *data,
            spec.seed,
            fold.device,
            desc=f"train {space}",
            sigmas=fold.train_sigmas if arm.noise else None,
            teacher_logits=teacher_logits if arm.distill else None,
            n_classes=fold.n_classes,
        )
    out = dict(
        logits=predict_logits(model, x[test], fold.device),
        sigma_logits={},
        teacher_logits=None,
        init_reports=init_reports,
        training={k: v for k, v in history.items() if k != "best_val_balanced_accuracy"},
    )
    if space == "image":  # raw logits: distillation compares them before the cosine head's scale
        out["teacher_logits"] = predict_logits(model, x[train], fold.device) / head_scale(model)
    if arm.noise_curve:
        out["sigma_logits"] = {
            float(s): predict_logits(model, x[test], fold.device, sigma=float(s), seed=spec.seed)
            for s in fold.eval_sigmas
        }
    return dict(out, seconds=time.perf_counter() - t0, reused=False)


def distil_two_stages(model: torch.nn.Module, data: tuple, fold: FoldTask, space: str, teacher_logits: np.ndarray):
    """The authors' two distillation stages (their classifier_distill.py, then classifier_distill_noise_cond.py).

    1. distil on clean latents (σ = CLEAN_SIGMA, their clean level) with the FiLM layers frozen at their zero
       initialisation, i.e. a plain ConvNeXt; 2. from its best weights, distil again under the noise schedule,
       FiLM-conditioned. data: (x_train, y_train, x_val, y_val, cfg). Returns the second stage's model and one
    history: both stages' epochs in order, each tagged with its `stage`; `best_epoch` indexes that list and
    `converged` holds for both stages.
    """
    film = [p for name, p in model.named_parameters() if name.startswith(("films.", "noise_embedding."))]
    stages = (("clean", np.array([CLEAN_SIGMA]), fold.spec.seed), ("noise", fold.train_sigmas, fold.spec.seed + 1000))
    histories = []
    for stage, sigmas, seed in stages:  # the noise stage draws its own batches and ε, not the clean stage's again
        for p in film:
            p.requires_grad_(stage == "noise")
        model, h = fit(
            model,
            *data,
            seed,
            fold.device,
            desc=f"train {space} ({stage})",
            sigmas=sigmas,
            teacher_logits=teacher_logits,
            n_classes=fold.n_classes,
        )
        histories.append(h)
    first, last = histories
    history = [dict(e, stage=stage) for (stage, _, _), h in zip(stages, histories) for e in h["history"]]
    return model, dict(
        epochs_run=len(history),
        best_epoch=first["epochs_run"] + last["best_epoch"],
        best_val_balanced_accuracy=last["best_val_balanced_accuracy"],
        converged=first["converged"] and last["converged"],
        history=history,
    )


def train_arms_local(fold: FoldTask, inputs: dict[str, torch.Tensor], step) -> Iterator[tuple[str, dict]]:
    """Train every arm of the fold in turn, in the spec's order (the image arm first: it is the distillation
    teacher), yielding (space, `train_arm` result). inputs: input space -> (N, C, H, W); step(name) as an arm starts.
    """
    out = {}
    for space in fold.arms or fold.spec.arms():
        step(f"train {space}")
        teacher = out["image"]["teacher_logits"] if ARMS[space].distill else None
        out[space] = train_arm(fold, space, inputs[ARMS[space].input], teacher)
        yield space, out[space]
