"""One diagnosis, end to end: encode, train the same recipe in three spaces, measure, store.

The CLI, the dashboard's job runner and the benchmarks all call `diagnose()`; nothing else re-implements
a step.
"""

from __future__ import annotations

import platform
import time
import uuid
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from latentgap import __version__
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.train import fit, predict_logits
from latentgap.datasets import registry
from latentgap.datasets.splits import paper_split
from latentgap.encode import cached_encode, normalize_latents
from latentgap.errors import LatentgapError
from latentgap.metrics import CLASSIFICATION_METRICS, bootstrap_ci, bootstrap_difference, classification_report
from latentgap.metrics import reconstruction_fidelity
from latentgap.spec import DiagnosisSpec, Profile, get_profile, resolve_device, resolve_home
from latentgap.store import Store

SPACES = ("image", "reconstruction", "latent")
# Each derived quantity is metric(a) − metric(b), the paper's definitions.
DIFFERENCES = {"gap": ("reconstruction", "latent"), "fidelity_loss": ("image", "reconstruction")}


def versions() -> dict:
    import diffusers
    import duckdb
    import sklearn

    return dict(latentgap=__version__, torch=torch.__version__, diffusers=diffusers.__version__,
                duckdb=duckdb.__version__, sklearn=sklearn.__version__, numpy=np.__version__,
                python=platform.python_version(), platform=platform.platform())  # fmt: skip


def subsample_groups(labels: np.ndarray, groups: np.ndarray, max_samples: int, seed: int) -> np.ndarray:
    """Indices of at most `max_samples` images made of whole groups (patients), drawn at random."""
    rng = np.random.default_rng(seed)
    keep, total = [], 0
    for g in rng.permutation(np.unique(groups)):
        members = np.nonzero(groups == g)[0]
        if total + len(members) > max_samples:
            continue
        keep.append(members)
        total += len(members)
    return np.sort(np.concatenate(keep))


def _classifier_input(x: np.ndarray, size: int, mean: float, std: float) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> 3-channel standardised tensor at the classifier resolution."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.shape[1] == 1:
        t = t.repeat(1, 3, 1, 1)
    if t.shape[-1] != size:
        t = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (t - mean) / std


def _build_model(space: str, profile: Profile, in_channels: int, n_classes: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)  # identical initialisation for every space of a run
    normed = profile.train.loss == "ldam"
    if space == "latent":
        return ConvNeXt(in_channels, n_classes, normed_head=normed, **profile.latent_model)
    return ResNet(in_channels, n_classes, normed_head=normed, **profile.image_model)


def diagnose(spec: DiagnosisSpec, home=None, on_step: Callable[[str, float], None] | None = None) -> str:
    """Run `spec`, write everything to the store under `home`; returns the run id."""
    step = on_step or (lambda name, frac: None)
    profile = get_profile(spec.profile)
    home = resolve_home(home)
    store = Store(home)  # fail early on a bad store, dataset or device, before any compute
    registry.get_benchmark(spec.dataset)
    device = resolve_device(spec.device)
    timing, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        timing[name] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()

    # --- load --------------------------------------------------------------------------------------------
    from latentgap.autoencoders.loading import load_autoencoder

    step("load", 0.0)
    ae = load_autoencoder(spec.autoencoder)
    if profile.resolution % ae.downsampling_factor:
        raise LatentgapError(f"resolution {profile.resolution} is not a multiple of the AE's factor {ae.downsampling_factor}")
    data = registry.load(spec.dataset, profile.resolution, profile.n_images, seed=0, cache_dir=home / "cache" / "datasets")
    if spec.max_samples and spec.max_samples < len(data.labels):
        data = data.subset(subsample_groups(data.labels, data.groups, spec.max_samples, spec.seed))
    images, labels, groups = data.images, data.labels, data.groups
    n_classes = len(data.class_names)
    lap("load")

    # --- encode ------------------------------------------------------------------------------------------
    step("encode", 0.0)
    key = f"{ae.weights_hash}-{data.fingerprint}-{profile.resolution}px"
    latents, recons = cached_encode(ae, images, key, home / "cache" / "latents", profile.encode_batch, device)
    if not (np.isfinite(latents).all() and np.isfinite(recons).all()):
        raise LatentgapError(f"{spec.autoencoder} produced non-finite latents or reconstructions; check its weights")
    fidelity = reconstruction_fidelity(
        np.repeat(images, recons.shape[1], 1) if images.shape[1] != recons.shape[1] else images, recons
    )
    lap("encode")

    # --- train and evaluate, per fold --------------------------------------------------------------------
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    tables = {"metrics": [], "class_metrics": [], "confusion": []}
    for name, value in fidelity.items():
        tables["metrics"].append(dict(run_id=run_id, space="reconstruction", metric=name, value=value))
    for fold in profile.folds:
        train, val, test = paper_split(labels, groups, fold)
        z, _, _ = normalize_latents(latents, train)
        pix_mean, pix_std = float(images[train].mean()), float(images[train].std() + 1e-8)
        inputs = {
            "image": _classifier_input(images, profile.classifier_resolution, pix_mean, pix_std),
            "reconstruction": _classifier_input(recons, profile.classifier_resolution, pix_mean, pix_std),
            "latent": torch.from_numpy(z),
        }
        proba = {}
        for space in SPACES:
            step(f"train {space}", 0.0)
            x = inputs[space]
            model = _build_model(space, profile, x.shape[1], n_classes, spec.seed)
            cfg = profile.train.__class__(**{**profile.train.__dict__, "augment": "latent" if space == "latent" else "image"})
            model, _ = fit(model, x[train], labels[train], x[val], labels[val], cfg, spec.seed, device, desc=f"train {space}")
            report = classification_report(labels[test], predict_logits(model, x[test], device))
            proba[space] = report["proba"]
            for metric, value in report["scalars"].items():
                lo, hi = bootstrap_ci(labels[test], proba[space], metric, profile.bootstrap, spec.seed)
                tables["metrics"].append(dict(run_id=run_id, space=space, metric=metric, value=value, ci_low=lo, ci_high=hi, fold=fold))
            for c, (acc, sup) in enumerate(zip(report["per_class_accuracy"], report["support"])):
                tables["class_metrics"].append(dict(run_id=run_id, space=space, fold=fold, class_index=c,
                                                    class_name=data.class_names[c], support=sup, accuracy=acc))  # fmt: skip
            for t, row in enumerate(report["confusion"]):
                for p, count in enumerate(row):
                    tables["confusion"].append(dict(run_id=run_id, space=space, fold=fold, true_class=t, pred_class=p, count=count))
            lap(f"train_{space}_fold{fold}")
        for name, (a, b) in DIFFERENCES.items():
            for metric in CLASSIFICATION_METRICS:
                value, lo, hi = bootstrap_difference(labels[test], proba[a], proba[b], metric, profile.bootstrap, spec.seed)
                tables["metrics"].append(dict(run_id=run_id, space=name, metric=metric, value=value, ci_low=lo, ci_high=hi, fold=fold))

    # --- store -------------------------------------------------------------------------------------------
    step("store", 0.0)
    summary = dict(n_images=int(len(labels)), n_classes=n_classes, class_names=data.class_names,
                   class_counts=np.bincount(labels, minlength=n_classes).tolist(), latent_shape=list(latents.shape[1:]),
                   ae_parameters=ae.parameters, synthetic=data.synthetic, deviations=profile.deviations)  # fmt: skip
    run = dict(run_id=run_id, autoencoder=ae.name, family=ae.family.name, ae_hash=ae.weights_hash, dataset=data.name,
               synthetic=data.synthetic, profile=profile.name, seed=spec.seed, device=device,
               spec=spec.to_dict(), versions=versions(), timing=timing, summary=summary)  # fmt: skip
    timing["total"] = round(sum(timing.values()), 2)
    store.write_run(run, tables)
    step("done", 1.0)
    return run_id
