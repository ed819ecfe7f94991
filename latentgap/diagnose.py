"""One diagnosis, end to end: encode, train the same recipe in three spaces, measure, store.

The CLI, the dashboard's job runner and the benchmarks all call `diagnose()`; nothing else re-implements
a step.
"""

from __future__ import annotations

import json
import platform
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from latentgap import __version__, progress
from latentgap.arms import ARMS, FoldTask, prepare_inputs
from latentgap.classifiers.probes import PROBES
from latentgap.datasets import registry
from latentgap.datasets.splits import OFFICIAL, nested_subsets, official_split, paper_split, parse_folds
from latentgap.encode import normalize_latents
from latentgap.errors import LatentgapError
from latentgap.executors import make_executor
from latentgap.gallery import choose_samples, save_gallery
from latentgap.metrics import (
    CLASSIFICATION_METRICS,
    bootstrap_ci,
    bootstrap_values,
    classification_report,
    difference_draws,
    metric_value,
    per_sample_fidelity,
    percentile_interval,
    replicate_interval,
    resample_counts,
)
from latentgap.noise import evaluation_levels, karras_sigmas
from latentgap.projection import project
from latentgap.records import DIFFERENCES, FIDELITY, SCORE, TABLES
from latentgap.spec import MIN_IMAGES, DiagnosisSpec, get_profile, resolve_device, resolve_home
from latentgap.store import Store
from latentgap.structure import pixel_features, pooled_latents, structure_statistics
from latentgap.thumbnails import MAX_SAMPLES as THUMBNAIL_SAMPLES
from latentgap.thumbnails import save_thumbnails
from latentgap.workspace import Workspace

PIXEL_PROBE_VALUES = 256  # 16x16 grayscale values: what the image and reconstruction probes see, whatever the AE


def versions() -> dict:
    import diffusers
    import duckdb
    import sklearn

    return dict(
        latentgap=__version__,
        torch=torch.__version__,
        diffusers=diffusers.__version__,
        duckdb=duckdb.__version__,
        sklearn=sklearn.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        platform=platform.platform(),
    )


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


class Records:
    """Rows for the store's tables, all tagged with one run id."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.tables = {name: [] for name in TABLES}

    def add(self, table: str, **row) -> None:
        self.tables[table].append(TABLES[table](run_id=self.run_id, **row))

    def add_columns(self, table: str, **columns) -> None:
        """Many rows at once: one (N,) array per column (a scalar is repeated)."""
        n = max(len(v) for v in columns.values() if np.ndim(v))
        cols = {k: np.asarray(v).tolist() if np.ndim(v) else [v] * n for k, v in columns.items()}
        for row in zip(*cols.values()):
            self.add(table, **dict(zip(cols, row)))  # the same typed rows as `add`

    def classification(
        self,
        arm: str,
        fold: int,
        y: np.ndarray,
        report: dict,
        class_names: list[str],
        n_boot: int,
        seed: int,
        groups: np.ndarray,
    ) -> None:
        """Scalars with patient-level bootstrap CIs, per-class accuracy and the confusion matrix of one classifier
        of the (seed, fold) replicate; y and groups (N_test,)."""
        for metric, value in report["scalars"].items():
            lo, hi = bootstrap_ci(y, report["proba"], metric, n_boot, seed, groups=groups)
            self.add(
                "metrics",
                arm=arm,
                quantity=SCORE,
                metric=metric,
                value=value,
                ci_low=lo,
                ci_high=hi,
                fold=fold,
                seed=seed,
            )
        for c, (acc, n) in enumerate(zip(report["per_class_accuracy"], report["support"])):
            self.add(
                "class_metrics",
                arm=arm,
                fold=fold,
                seed=seed,
                class_index=c,
                class_name=class_names[c],
                support=n,
                accuracy=acc,
            )
        for t, row in enumerate(report["confusion"]):
            for p, count in enumerate(row):
                self.add("confusion", arm=arm, fold=fold, seed=seed, true_class=t, pred_class=p, count=count)


def _add_projections(rec: Records, view: dict, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
    """UMAP of the normalised latents and of image-space features (pooled pixels, as many values as the latent)
    for every sample, with its split and the test predictions of that space's classifier."""
    latent = view["z"].reshape(len(labels), -1)
    split = np.empty(len(labels), dtype=object)
    for name, idx in zip(("train", "val", "test"), view["splits"]):
        split[idx] = name
    for i, (space, feats) in enumerate({"latent": latent, "image": pixel_features(images, latent.shape[1])}.items()):
        progress.report(i / 2, f"UMAP of the {space} features")  # a UMAP fit is not interruptible: check before it
        xy = project(feats, seed)
        predicted = np.full(len(labels), None, dtype=object)
        predicted[view["splits"][2]] = view["predicted"][space].tolist()
        for i in range(len(labels)):
            rec.add(
                "projections",
                fold=view["fold"],
                space=space,
                sample_index=i,
                x=float(xy[i, 0]),
                y=float(xy[i, 1]),
                label=int(labels[i]),
                split=split[i],
                predicted=predicted[i],
            )


def _record_arm(
    rec: Records,
    arm: str,
    fold: int,
    out: dict,
    y_test: np.ndarray,
    class_names: list[str],
    n_boot: int,
    seed: int,
    g_test: np.ndarray,
) -> np.ndarray:
    """One arm's metrics, per-class accuracy, confusion and noise curve; returns its test probabilities."""
    report = classification_report(y_test, out["logits"])
    t = out["training"]
    rec.add(
        "training",
        arm=arm,
        fold=fold,
        seed=seed,
        epochs_run=t["epochs_run"],
        best_epoch=t["best_epoch"],
        converged=t["converged"],
        history=json.dumps(t["history"]),
    )
    rec.classification(arm, fold, y_test, report, class_names, n_boot, seed, g_test)
    for sigma, logits in out["sigma_logits"].items():
        for metric, value in classification_report(y_test, logits)["scalars"].items():
            if metric in ("balanced_accuracy", "auroc"):
                rec.add(
                    "metrics",
                    arm=arm,
                    quantity=SCORE,
                    metric=metric,
                    value=value,
                    fold=fold,
                    noise_level=sigma,
                    seed=seed,
                )
    return report["proba"]


def _differences(proba: dict):
    """(quantity, (arm a, arm b)) of every difference (`records.DIFFERENCES`) whose two arms ran in this replicate."""
    return ((q, ab) for q, ab in DIFFERENCES.items() if set(ab) <= set(proba))


def _record_differences(
    rec: Records,
    fold: int,
    seed: int,
    y_test: np.ndarray,
    g_test: np.ndarray,
    proba: dict,
    n_boot: int,
    draws: dict,
) -> None:
    """Every difference of two arms (gap, fidelity loss, ...) of one replicate with its patient-level bootstrap CI;
    the bootstrap draws are kept in `draws` for the run-level interval."""
    for quantity, (a, b) in _differences(proba):
        for metric in CLASSIFICATION_METRICS:
            value, diffs = difference_draws(y_test, proba[a], proba[b], metric, n_boot, seed, g_test)
            lo, hi = percentile_interval(diffs)
            draws.setdefault((quantity, metric), []).append((value, diffs))
            rec.add(
                "metrics",
                arm=None,
                quantity=quantity,
                metric=metric,
                value=value,
                ci_low=lo,
                ci_high=hi,
                fold=fold,
                seed=seed,
            )


LEARNING_METRIC = "balanced_accuracy"  # what a learning curve records


def _record_learning(
    rec: Records,
    fraction: float,
    n_train: int,
    fold: int,
    seed: int,
    y_test: np.ndarray,
    g_test: np.ndarray,
    proba: dict,
    n_boot: int,
    draws: dict,
) -> None:
    """One replicate's learning-curve point at `fraction` of its training split: every arm's test score and every
    difference of two arms (gap, matched gap, ...), each with its patient-level bootstrap CI (the resamples of
    `Records.classification` and `_record_differences`); the draws are kept in `draws` for the run-level rows."""
    counts = resample_counts(len(y_test), n_boot, seed, g_test)
    rows = {(arm, SCORE): bootstrap_values(LEARNING_METRIC, y_test, p, counts) for arm, p in proba.items()}
    points = {key: metric_value(LEARNING_METRIC, y_test, proba[key[0]]) for key in rows}
    for quantity, (a, b) in _differences(proba):
        rows[None, quantity] = rows[a, SCORE] - rows[b, SCORE]  # paired: both arms on the same resamples
        points[None, quantity] = points[a, SCORE] - points[b, SCORE]
    for (arm, quantity), values in rows.items():
        values = values[np.isfinite(values)]
        lo, hi = percentile_interval(values)
        draws.setdefault((arm, quantity, fraction), []).append((points[arm, quantity], values, n_train))
        rec.add(
            "learning_curve",
            arm=arm,
            quantity=quantity,
            fold=fold,
            seed=seed,
            train_fraction=fraction,
            n_train=n_train,
            metric=LEARNING_METRIC,
            value=points[arm, quantity],
            ci_low=lo,
            ci_high=hi,
        )


def _record_learning_means(rec: Records, draws: dict, n_boot: int, seed: int) -> None:
    """The run-level learning-curve rows (fold and seed null): mean over the replicates, two-level interval."""
    for (arm, quantity, fraction), reps in draws.items():
        points, values, n_train = zip(*reps)
        value, lo, hi = replicate_interval(list(points), list(values), n_boot=n_boot, seed=seed)
        rec.add(
            "learning_curve",
            arm=arm,
            quantity=quantity,
            fold=None,
            seed=None,
            train_fraction=fraction,
            n_train=round(float(np.mean(n_train))),
            metric=LEARNING_METRIC,
            value=value,
            ci_low=lo,
            ci_high=hi,
        )


def replicate_tag(seed: int, fold: int, fraction: float = 1.0) -> str:
    """How progress steps name a (seed, fold) replicate, and its training on a fraction of the training split."""
    share = "" if fraction == 1.0 else f", {100 * fraction:g} %"
    return f"(seed {seed}, fold {'official' if fold == OFFICIAL else fold}{share})"


def steps(spec: DiagnosisSpec) -> list[str]:
    """The step names `diagnose()` reports through `on_step`, in order: job progress is its index in this list.
    Every (seed, fold) replicate trains every arm and fits the probes, then trains every arm again on each smaller
    fraction of its training split (the learning curve; none by default)."""
    profile = get_profile(spec.profile)
    if spec.folds is not None or spec.dataset in registry.BENCHMARKS:  # embedded benchmarks have no official split
        folds = parse_folds(spec.folds, profile.folds)
    else:  # a dataset on disk may bring its own split: both are listed, progress skips the one not run
        folds = (OFFICIAL, *profile.folds)
    training = []
    for fold in folds:
        for seed in spec.replicate_seeds():
            tag = replicate_tag(seed, fold)
            training += [*(f"train {a} {tag}" for a in spec.arms()), f"probes {tag}"]
            for fraction in spec.learning_fractions()[:-1]:  # the learning curve's smaller training sets
                training += [f"train {a} {replicate_tag(seed, fold, fraction)}" for a in spec.arms()]
    return ["load", "encode", "structure", *training, "projection", "store", "done"]


def diagnose(spec: DiagnosisSpec, home=None, on_step: Callable[[str, float], None] | None = None) -> str:
    """Run `spec`, write everything to the store under `home`; returns the run id.

    The spec's backend picks the executor that encodes and trains (executors.py); every other step is shared.
    """
    executor = make_executor(spec)
    with executor.session():
        return _diagnose(spec, executor, home, on_step)


def _diagnose(spec: DiagnosisSpec, executor, home=None, on_step: Callable[[str, float], None] | None = None) -> str:
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
    resolution = profile.ae_resolution(ae.downsampling_factor)  # f32 AEs: larger, for a 4x4 latent in quick
    if resolution % ae.downsampling_factor:
        raise LatentgapError(f"resolution {resolution} is not a multiple of the AE's factor {ae.downsampling_factor}")
    is_path = spec.dataset not in registry.BENCHMARKS
    data = registry.load(
        spec.dataset,
        resolution,
        None if is_path else profile.n_images,
        seed=0,
        cache_dir=Workspace(home).dataset_cache,
        data_format=spec.data_format,
        data_root=spec.data_root,
    )
    if len(data.labels) < MIN_IMAGES:  # the dataset as given (--max-samples, checked in the spec, may cut it further)
        raise LatentgapError(
            f"{spec.dataset} holds {len(data.labels)} images; a diagnosis needs at least {MIN_IMAGES}: add images"
        )
    if spec.max_samples and spec.max_samples < len(data.labels):
        data = data.subset(subsample_groups(data.labels, data.groups, spec.max_samples, spec.seed))
    images, labels, groups = data.images, data.labels, data.groups
    n_classes = len(data.class_names)
    ae = ae.for_channels(images.shape[1])  # controls take the data's channels; trained AEs keep theirs
    lap("load")

    # --- encode ------------------------------------------------------------------------------------------
    step("encode", 0.0)
    variant = ae.family.latent_variant(ae.vq_latent)
    key = f"{ae.weights_hash}{variant}-{data.fingerprint}-{resolution}px"
    latents, recons = executor.encode(ae, images, key, Workspace(home).cache, profile.encode_batch, device)
    if not (np.isfinite(latents).all() and (recons is None or np.isfinite(recons).all())):
        raise LatentgapError(f"{spec.autoencoder} produced non-finite latents or reconstructions; check its weights")
    # an encoder-only AE has no reconstruction: its reconstruction arms and fidelity are not available (not zero)
    arm_names = tuple(a for a in spec.arms() if recons is not None or not ARMS[a].needs_reconstruction)
    psnr = ssim = None
    fidelity = {}
    if recons is not None:
        psnr, ssim = per_sample_fidelity(images, recons)
        fidelity = dict(psnr=float(psnr.mean()), ssim=float(ssim.mean()))
    lap("encode")

    # --- latent structure (once: it does not depend on the fold) -----------------------------------------
    step("structure", 0.0)
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    rec = Records(run_id)
    init_reports = {}  # backbone weight files used, with how much of each model they initialised
    reused = []  # AE-independent arms taken from an earlier run's training (arm_cache)
    for name, value in fidelity.items():
        rec.add("metrics", arm=None, quantity=FIDELITY, metric=name, value=value)
    if psnr is not None:  # per sample: the Latent explorer colours points by it
        rec.add_columns("sample_fidelity", sample_index=np.arange(len(labels)), psnr=psnr, ssim=ssim)
    pixel_feats = pixel_features(images, pooled_latents(latents[:1]).shape[1])  # as many values as the latent probe
    # the pixel probes see a fixed size for every AE, so probes on images and reconstructions compare across AEs
    probe_pixels = {"-image": pixel_features(images, PIXEL_PROBE_VALUES)}
    if recons is not None:
        probe_pixels["-reconstruction"] = pixel_features(recons, PIXEL_PROBE_VALUES)
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
    view = None
    draws = {}  # (quantity, metric) -> [(value, cluster-bootstrap draws)] of every replicate, for the run-level rows
    fractions = spec.learning_fractions()
    curve_draws = {}  # (arm, quantity, fraction) -> [(value, draws, n_train)] of every replicate (learning curve)
    for fold in folds:
        if fold == OFFICIAL:
            train, val, test = official_split(data.split, labels, groups)
        else:
            train, val, test = paper_split(labels, groups, fold)
        z = normalize_latents(latents, train)[0] if spec.latent_norm == "paper" else ae.family_normalize(latents)
        needed = {ARMS[name].input for name in arm_names}
        inputs = prepare_inputs(needed, images, recons, z, train, profile.classifier_resolution, ae.downsampling_factor)
        y_test, g_test = labels[test], groups[test]
        for seed in spec.replicate_seeds():  # one replicate per (seed, fold); the split stays the paper's (seed 0)
            tag = replicate_tag(seed, fold)
            train_seed = seed + max(fold, 0)  # the paper seeds each fold's training with seed + fold index
            task = FoldTask(
                replace(spec, seed=train_seed, seeds=None),
                profile,
                labels,
                (train, val, test),
                n_classes,
                device,
                train_sigmas,
                eval_sigmas,
                arm_names,
                cache_dir=str(Workspace(home).arm_cache),
            )
            proba = {}
            for arm, out in executor.train_arms(task, inputs, lambda name, tag=tag: step(f"{name} {tag}", 0.0)):
                init_reports.update(out["init_reports"])
                if out["reused"]:
                    reused.append(f"{arm} {tag}")
                proba[arm] = _record_arm(rec, arm, fold, out, y_test, data.class_names, profile.bootstrap, seed, g_test)
                lap(f"train_{arm}_fold{fold}_seed{seed}")
            _record_differences(rec, fold, seed, y_test, g_test, proba, profile.bootstrap, draws)
            if view is None:  # the explorer shows the first replicate: its latents, split and test predictions
                for arm, p in proba.items():  # every arm's call on every test sample: the explorer's correct / wrong
                    rec.add_columns(
                        "predictions", fold=fold, arm=arm, sample_index=test, predicted=p.argmax(1), confidence=p.max(1)
                    )
                view = dict(
                    fold=fold,
                    z=z,
                    splits=(train, val, test),
                    predicted={s: proba[s].argmax(1) for s in ("image", "latent")},
                )

            # --- probes on frozen features: latents vs image space -------------------------------------------
            step(f"probes {tag}", 0.0)
            features = {"": pooled_latents(z), **probe_pixels}
            jobs = {
                f"probe-{kind}{suffix}": (kind, feats[train], labels[train], feats[test], n_classes)
                for suffix, feats in features.items()
                for kind in PROBES
            }
            for name, p in executor.probe_probas(jobs, train_seed).items():
                report = classification_report(y_test, np.log(p + 1e-12))
                rec.classification(name, fold, y_test, report, data.class_names, profile.bootstrap, seed, g_test)
            lap(f"probes_fold{fold}_seed{seed}")

            # --- learning curve: every arm again on nested whole-group fractions of the training split ---------
            if len(fractions) == 1:
                continue
            _record_learning(rec, 1.0, len(train), fold, seed, y_test, g_test, proba, profile.bootstrap, curve_draws)
            # the inputs keep the full split's normalisation statistics: only the images trained on change
            subsets = nested_subsets(labels, groups, train, fractions, train_seed)
            for fraction in fractions[:-1]:
                sub_tag = replicate_tag(seed, fold, fraction)
                sub_task = replace(task, splits=(subsets[fraction], val, test))
                sub_proba = {}
                for arm, out in executor.train_arms(sub_task, inputs, lambda name, t=sub_tag: step(f"{name} {t}", 0.0)):
                    if out["reused"]:
                        reused.append(f"{arm} {sub_tag}")
                    sub_proba[arm] = classification_report(y_test, out["logits"])["proba"]
                    lap(f"train_{arm}_fold{fold}_seed{seed}_{fraction:g}")
                n_sub = len(subsets[fraction])
                _record_learning(
                    rec, fraction, n_sub, fold, seed, y_test, g_test, sub_proba, profile.bootstrap, curve_draws
                )
    for (quantity, metric), reps in draws.items():  # the run-level mean over replicates and its interval
        value, lo, hi = replicate_interval(*zip(*reps), n_boot=profile.bootstrap, seed=spec.seed)
        rec.add("metrics", arm=None, quantity=quantity, metric=metric, value=value, ci_low=lo, ci_high=hi)
    _record_learning_means(rec, curve_draws, profile.bootstrap, spec.seed)

    # --- projections, gallery and thumbnails: the Latent explorer, the Reconstructions and Compare grids ------
    step("projection", 0.0)
    _add_projections(rec, view, images, labels, spec.seed)
    test = view["splits"][2]
    gallery = None
    if recons is not None:
        samples = choose_samples(labels, test, spec.seed)
        gallery = save_gallery(home, run_id, samples, images, recons, labels, psnr, ssim).relative_to(home).as_posix()
    samples = choose_samples(labels, test, spec.seed, THUMBNAIL_SAMPLES)
    thumbnails = save_thumbnails(home, run_id, samples, images, recons, view["z"]).relative_to(home).as_posix()
    lap("projection")

    # --- store -------------------------------------------------------------------------------------------
    step("store", 0.0)
    summary = dict(
        n_images=int(len(labels)),
        n_classes=n_classes,
        class_names=data.class_names,
        class_counts=np.bincount(labels, minlength=n_classes).tolist(),
        latent_shape=list(latents.shape[1:]),
        ae_parameters=ae.parameters,
        synthetic=data.synthetic,
        deviations=profile.deviations,
        folds=list(folds),
        seeds=list(spec.replicate_seeds()),
        train_fractions=list(fractions),  # the learning curve's points ([1.0]: none)
        dataset_card=data.card,
        input_channels=int(images.shape[1]),
        ae_input=f"{ae.in_channels} channels in [-1, 1] at {resolution} px "
        f"({'grayscale repeated to RGB' if images.shape[1] == 1 and ae.in_channels == 3 else 'native channels'})",
        latent_normalisation="per channel to mean 0 / std 0.5 over the training split (the paper)"
        if spec.latent_norm == "paper"
        else f"the {ae.family.name} family's own scaling and shift",
        ae_family_detected=ae.family.name,
        ae_family_alternatives=list(ae.alternatives),
        ae_layout=ae.layout,
        ae_source=ae.source,
        ae_loader_notes=ae.notes,
        classifier_init=init_reports or "random (no backbone weights given)",
        arms_reused=reused,  # trained once for this dataset, profile, seed and fold by an earlier run, not retrained
        gallery=gallery,
        thumbnails=thumbnails,
        projection_fold=view["fold"],
        # the σ range the noise-trained arms saw (the noise curves shade it)
        noise_training_sigma=[float(train_sigmas.min()), float(train_sigmas.max())]
        if any(ARMS[a].noise for a in arm_names)
        else None,
        arms=list(arm_names),
        reconstruction="available"
        if recons is not None
        else "not available: encoder-only autoencoder (no reconstruction arms, fidelity loss or PSNR / SSIM)",
    )
    run = dict(
        run_id=run_id,
        autoencoder=spec.label or ae.name,
        family=ae.family.name,
        ae_hash=ae.weights_hash,
        dataset=data.name,
        synthetic=data.synthetic,
        profile=profile.name,
        seed=spec.seed,
        device=device,
        spec=spec.to_dict(),
        versions=versions(),
        timing=timing,
        summary=summary,
    )
    timing["total"] = round(sum(timing.values()), 2)
    store.write_run(run, rec.tables)
    step("done", 1.0)
    return run_id
