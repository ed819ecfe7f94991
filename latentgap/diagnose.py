"""One diagnosis, end to end: encode, train the same recipe in three spaces, measure, store.

The CLI, the dashboard's job runner and the benchmarks all call `diagnose()`; nothing else re-implements
a step.
"""

from __future__ import annotations

import platform
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from latentgap import __version__
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.probes import PROBES, probe_proba
from latentgap.classifiers.train import fit, predict_logits
from latentgap.datasets import registry
from latentgap.datasets.splits import OFFICIAL, official_split, paper_split, parse_folds
from latentgap.encode import cached_encode, normalize_latents
from latentgap.errors import LatentgapError
from latentgap.gallery import choose_samples, save_gallery
from latentgap.metrics import (
    CLASSIFICATION_METRICS,
    bootstrap_ci,
    bootstrap_difference,
    classification_report,
    per_sample_fidelity,
)
from latentgap.noise import evaluation_levels, karras_sigmas
from latentgap.projection import project
from latentgap.spec import ARMS, Arm, DiagnosisSpec, Profile, get_profile, resolve_device, resolve_home
from latentgap.store import Store
from latentgap.structure import pixel_features, pooled_latents, structure_statistics

NOISE_CURVE_ARMS = ("latent", "latent-noise", "latent-film", "latent-film-distilled")
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


def _build_model(arm: Arm, spec: DiagnosisSpec, profile: Profile, in_channels: int, n_classes: int,
                 init_reports: dict) -> torch.nn.Module:  # fmt: skip
    """The arm's classifier: random init (same seed for every arm), or the user's backbone weights when given."""
    torch.manual_seed(spec.seed)  # identical initialisation for every arm of a run
    normed = profile.train.loss == "ldam"
    if arm.input == "latent" and arm.model == "default":
        model, weights = (
            ConvNeXt(in_channels, n_classes, normed_head=normed, film=arm.film, **profile.latent_model),
            spec.latent_weights,
        )
    else:
        model, weights = ResNet(in_channels, n_classes, normed_head=normed, **profile.image_model), spec.image_weights
    if weights and arm.pretrained:
        from latentgap.classifiers.pretrained import load_backbone

        report = load_backbone(model, weights)
        init_reports[report["source"]] = {k: v for k, v in report.items() if k != "random_init"}
    return model


class Records:
    """Rows for the store's tables, all tagged with one run id."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.tables = {"metrics": [], "class_metrics": [], "confusion": [], "structure": [], "projections": []}

    def add(self, table: str, **row) -> None:
        self.tables[table].append(dict(run_id=self.run_id, **row))

    def classification(self, space: str, fold: int, y: np.ndarray, report: dict, class_names: list[str],
                       n_boot: int, seed: int) -> None:  # fmt: skip
        """Scalars with bootstrap CIs, per-class accuracy and the confusion matrix of one classifier."""
        for metric, value in report["scalars"].items():
            lo, hi = bootstrap_ci(y, report["proba"], metric, n_boot, seed)
            self.add("metrics", space=space, metric=metric, value=value, ci_low=lo, ci_high=hi, fold=fold)
        for c, (acc, n) in enumerate(zip(report["per_class_accuracy"], report["support"])):
            self.add(
                "class_metrics",
                space=space,
                fold=fold,
                class_index=c,
                class_name=class_names[c],
                support=n,
                accuracy=acc,
            )
        for t, row in enumerate(report["confusion"]):
            for p, count in enumerate(row):
                self.add("confusion", space=space, fold=fold, true_class=t, pred_class=p, count=count)


def _add_projections(rec: Records, view: dict, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
    """UMAP of the normalised latents and of image-space features (pooled pixels, as many values as the latent)
    for every sample, with its split and the test predictions of that space's classifier."""
    latent = view["z"].reshape(len(labels), -1)
    split = np.empty(len(labels), dtype=object)
    for name, idx in zip(("train", "val", "test"), view["splits"]):
        split[idx] = name
    for space, feats in {"latent": latent, "image": pixel_features(images, latent.shape[1])}.items():
        xy = project(feats, seed)
        predicted = np.full(len(labels), None, dtype=object)
        predicted[view["splits"][2]] = view["predicted"][space].tolist()
        for i in range(len(labels)):
            rec.add("projections", fold=view["fold"], space=space, sample_index=i, x=float(xy[i, 0]), y=float(xy[i, 1]),
                    label=int(labels[i]), split=split[i], predicted=predicted[i])  # fmt: skip


@dataclass(frozen=True)
class Fold:
    """What every arm of one fold trains and is evaluated on: plain values, so it travels to Ray tasks."""

    spec: DiagnosisSpec
    profile: Profile
    labels: np.ndarray  # (N,)
    splits: tuple[np.ndarray, np.ndarray, np.ndarray]  # train, val, test indices
    n_classes: int
    device: str
    train_sigmas: np.ndarray  # noise levels the noise-trained arms see
    eval_sigmas: np.ndarray  # levels of the per-noise-level curves


def train_arm(fold: Fold, space: str, x: torch.Tensor, teacher_logits: np.ndarray | None = None) -> dict:
    """Train arm `space` on x (N, C, H, W) and evaluate it on the test split; numpy out (both backends run this).

    Returns logits (N_test, K), sigma_logits {σ: (N_test, K)} for the noise-curve arms, teacher_logits (N_train, K)
    on clean train inputs for the image arm (the distilled arms' frozen teacher), init_reports and seconds.
    """
    t0, arm, profile, spec = time.perf_counter(), ARMS[space], fold.profile, fold.spec
    train, val, test = fold.splits
    init_reports = {}
    model = _build_model(arm, spec, profile, x.shape[1], fold.n_classes, init_reports)
    cfg = replace(profile.train, augment="latent" if arm.input == "latent" else "image",
                  lr=profile.distill_lr if arm.distill else profile.train.lr)  # fmt: skip
    model, _ = fit(model, x[train], fold.labels[train], x[val], fold.labels[val], cfg, spec.seed, fold.device,
                   desc=f"train {space}", sigmas=fold.train_sigmas if arm.noise else None,
                   teacher_logits=teacher_logits if arm.distill else None, n_classes=fold.n_classes)  # fmt: skip
    out = dict(logits=predict_logits(model, x[test], fold.device), sigma_logits={}, teacher_logits=None,
               init_reports=init_reports)  # fmt: skip
    if space == "image":
        out["teacher_logits"] = predict_logits(model, x[train], fold.device)
    if space in NOISE_CURVE_ARMS:
        out["sigma_logits"] = {float(s): predict_logits(model, x[test], fold.device, sigma=float(s), seed=spec.seed)
                               for s in fold.eval_sigmas}  # fmt: skip
    return dict(out, seconds=time.perf_counter() - t0)


def train_arms_local(fold: Fold, inputs: dict[str, torch.Tensor], step) -> Iterator[tuple[str, dict]]:
    """Train every arm of the fold in turn, in the spec's order (the image arm first: it is the distillation
    teacher), yielding (space, `train_arm` result). inputs: input space -> (N, C, H, W); step(name) as an arm starts.
    """
    out = {}
    for space in fold.spec.arms():
        step(f"train {space}")
        teacher = out["image"]["teacher_logits"] if ARMS[space].distill else None
        out[space] = train_arm(fold, space, inputs[ARMS[space].input], teacher)
        yield space, out[space]


def _record_arm(rec: Records, space: str, fold: int, out: dict, y_test: np.ndarray, class_names: list[str],
                n_boot: int, seed: int) -> np.ndarray:  # fmt: skip
    """One arm's metrics, per-class accuracy, confusion and noise curve; returns its test probabilities."""
    report = classification_report(y_test, out["logits"])
    rec.classification(space, fold, y_test, report, class_names, n_boot, seed)
    for sigma, logits in out["sigma_logits"].items():
        for metric, value in classification_report(y_test, logits)["scalars"].items():
            if metric in ("balanced_accuracy", "auroc"):
                rec.add("metrics", space=space, metric=metric, value=value, fold=fold, noise_level=sigma)
    return report["proba"]


def diagnose(spec: DiagnosisSpec, home=None, on_step: Callable[[str, float], None] | None = None) -> str:
    """Run `spec`, write everything to the store under `home`; returns the run id.

    backend "ray" runs encoding and training on a Ray cluster (latentgap/ray_backend.py); the rest is shared.
    """
    if spec.backend == "local":
        return _diagnose(spec, home, on_step)
    from latentgap.ray_backend import session

    with session(spec.ray_address):
        return _diagnose(spec, home, on_step)


def _diagnose(spec: DiagnosisSpec, home=None, on_step: Callable[[str, float], None] | None = None) -> str:
    step = on_step or (lambda name, frac: None)
    profile = get_profile(spec.profile)
    home = resolve_home(home)
    store = Store(home)  # fail early on a bad store, dataset or device, before any compute
    registry.check_dataset(spec.dataset)
    device = resolve_device(spec.device)
    timing, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        timing[name] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()

    # --- load --------------------------------------------------------------------------------------------
    from latentgap.autoencoders.loading import load_autoencoder

    step("load", 0.0)
    ae = load_autoencoder(spec.autoencoder, family=spec.family, vq_latent=spec.vq_latent)
    if profile.resolution % ae.downsampling_factor:
        raise LatentgapError(
            f"resolution {profile.resolution} is not a multiple of the AE's factor {ae.downsampling_factor}"
        )
    is_path = spec.dataset not in registry.BENCHMARKS
    data = registry.load(spec.dataset, profile.resolution, None if is_path else profile.n_images, seed=0,
                         cache_dir=home / "cache" / "datasets", data_format=spec.data_format, data_root=spec.data_root)  # fmt: skip
    if spec.max_samples and spec.max_samples < len(data.labels):
        data = data.subset(subsample_groups(data.labels, data.groups, spec.max_samples, spec.seed))
    images, labels, groups = data.images, data.labels, data.groups
    n_classes = len(data.class_names)
    lap("load")

    # --- encode ------------------------------------------------------------------------------------------
    step("encode", 0.0)
    variant = ae.family.latent_variant(ae.vq_latent)
    key = f"{ae.weights_hash}{variant}-{data.fingerprint}-{profile.resolution}px"
    if spec.backend == "ray":  # Ray Data batch inference into shards, read back into the same arrays
        from latentgap import ray_backend

        latents, recons = ray_backend.cached_encode(spec, images, key, home / "cache", profile.encode_batch,
                                                    ae.weights_hash)  # fmt: skip
    else:
        latents, recons = cached_encode(ae, images, key, home / "cache" / "latents", profile.encode_batch, device)
    if not (np.isfinite(latents).all() and np.isfinite(recons).all()):
        raise LatentgapError(f"{spec.autoencoder} produced non-finite latents or reconstructions; check its weights")
    psnr, ssim = per_sample_fidelity(images, recons)
    fidelity = dict(psnr=float(psnr.mean()), ssim=float(ssim.mean()))
    lap("encode")

    # --- latent structure (once: it does not depend on the fold) -----------------------------------------
    step("structure", 0.0)
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    rec = Records(run_id)
    init_reports = {}  # backbone weight files used, with how much of each model they initialised
    for name, value in fidelity.items():
        rec.add("metrics", space="reconstruction", metric=name, value=value)
    pixel_feats = pixel_features(images, pooled_latents(latents[:1]).shape[1])  # as many values as the probe sees
    for row in structure_statistics(latents, pixel_feats, labels, spec.seed):
        rec.add("structure", **row)
    lap("structure")

    # --- train and evaluate every arm, per fold ---------------------------------------------------------------
    sigmas = karras_sigmas(profile.noise_levels)
    eval_sigmas = evaluation_levels(sigmas, profile.noise_levels_eval)
    train_sigmas = sigmas[sigmas <= profile.train_sigma_max]
    default_folds = (OFFICIAL,) if data.split is not None else profile.folds  # a dataset's own split comes first
    folds = parse_folds(spec.folds, default_folds)
    if OFFICIAL in folds and data.split is None:
        raise LatentgapError(f"{data.name} has no official split; use --folds 0 or --folds all")
    for fold in folds:
        if fold == OFFICIAL:
            train, val, test = official_split(data.split, labels, groups)
        else:
            train, val, test = paper_split(labels, groups, fold)
        z = normalize_latents(latents, train)[0] if spec.latent_norm == "paper" else ae.family_normalize(latents)
        pix_mean, pix_std = float(images[train].mean()), float(images[train].std() + 1e-8)
        inputs = {
            "image": _classifier_input(images, profile.classifier_resolution, pix_mean, pix_std),
            "reconstruction": _classifier_input(recons, profile.classifier_resolution, pix_mean, pix_std),
            "latent": torch.from_numpy(z),
        }
        runner = train_arms_local
        if spec.backend == "ray":  # the arms as Ray tasks, in parallel
            from latentgap.ray_backend import train_arms as runner
        arm_fold = Fold(spec, profile, labels, (train, val, test), n_classes, device, train_sigmas, eval_sigmas)
        proba = {}
        for space, out in runner(arm_fold, inputs, lambda name: step(name, 0.0)):  # the driver records: one writer
            init_reports.update(out["init_reports"])
            proba[space] = _record_arm(rec, space, fold, out, labels[test], data.class_names, profile.bootstrap,
                                       spec.seed)  # fmt: skip
            lap(f"train_{space}_fold{fold}")
        for name, (a, b) in DIFFERENCES.items():
            for metric in CLASSIFICATION_METRICS:
                value, lo, hi = bootstrap_difference(
                    labels[test], proba[a], proba[b], metric, profile.bootstrap, spec.seed
                )
                rec.add("metrics", space=name, metric=metric, value=value, ci_low=lo, ci_high=hi, fold=fold)
        if fold == folds[0]:  # the explorer shows the first fold: its latents, split and test predictions
            view = dict(
                fold=fold,
                z=z,
                splits=(train, val, test),
                predicted={s: proba[s].argmax(1) for s in ("image", "latent")},
            )

        # --- probes on frozen features: latents vs image space -----------------------------------------------
        step("probes", 0.0)
        features = {"": pooled_latents(z), "-image": pixel_feats}
        jobs = {f"probe-{kind}{suffix}": (kind, feats[train], labels[train], feats[test], n_classes)
                for suffix, feats in features.items() for kind in PROBES}  # fmt: skip
        if spec.backend == "ray":
            from latentgap.ray_backend import probe_probas

            probas = probe_probas(jobs, spec.seed)
        else:
            probas = {name: probe_proba(*job, spec.seed) for name, job in jobs.items()}
        for name, p in probas.items():
            report = classification_report(labels[test], np.log(p + 1e-12))
            rec.classification(name, fold, labels[test], report, data.class_names, profile.bootstrap, spec.seed)
        lap(f"probes_fold{fold}")

    # --- projections and gallery: the Latent explorer's UMAPs and the Reconstructions grid -----------------
    step("projection", 0.0)
    _add_projections(rec, view, images, labels, spec.seed)
    test = view["splits"][2]
    gallery = save_gallery(home, run_id, choose_samples(labels, test, spec.seed), images, recons, labels, psnr, ssim)
    lap("projection")

    # --- store -------------------------------------------------------------------------------------------
    step("store", 0.0)
    summary = dict(n_images=int(len(labels)), n_classes=n_classes, class_names=data.class_names,
                   class_counts=np.bincount(labels, minlength=n_classes).tolist(), latent_shape=list(latents.shape[1:]),
                   ae_parameters=ae.parameters, synthetic=data.synthetic, deviations=profile.deviations,
                   folds=list(folds), dataset_card=data.card, input_channels=int(images.shape[1]),
                   ae_input=f"{ae.in_channels} channels in [-1, 1] at {profile.resolution} px "
                   f"({'grayscale repeated to RGB' if images.shape[1] == 1 and ae.in_channels == 3 else 'native channels'})",
                   latent_normalisation="per channel to mean 0 / std 0.5 over the training split (the paper)"
                   if spec.latent_norm == "paper" else f"the {ae.family.name} family's own scaling and shift",
                   ae_family_detected=ae.family.name, ae_family_alternatives=list(ae.alternatives),
                   ae_layout=ae.layout, ae_source=ae.source, ae_loader_notes=ae.notes,
                   classifier_init=init_reports or "random (no backbone weights given)",
                   gallery=gallery.relative_to(home).as_posix(), projection_fold=view["fold"])  # fmt: skip
    run = dict(run_id=run_id, autoencoder=spec.label or ae.name, family=ae.family.name, ae_hash=ae.weights_hash, dataset=data.name,
               synthetic=data.synthetic, profile=profile.name, seed=spec.seed, device=device,
               spec=spec.to_dict(), versions=versions(), timing=timing, summary=summary)  # fmt: skip
    timing["total"] = round(sum(timing.values()), 2)
    store.write_run(run, rec.tables)
    step("done", 1.0)
    return run_id
