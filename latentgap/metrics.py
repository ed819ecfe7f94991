"""Metrics, all from scikit-learn / scikit-image so numbers match published tables.

Classification: balanced accuracy (the paper's selection metric), accuracy, macro one-vs-rest AUROC, MCC,
per-class accuracy (recall) and the confusion matrix. Scores and differences of two arms (gap, fidelity loss) get a
percentile bootstrap 95 % CI over the test split's patients (a cluster bootstrap: images of one patient are not
independent), and a run's mean over its (seed, fold) replicates a two-level bootstrap interval (`replicate_interval`).
Reconstruction fidelity: PSNR and SSIM on [0, 1] images.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import softmax
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    matthews_corrcoef,
    roc_auc_score,
)

CLASSIFICATION_METRICS = ("balanced_accuracy", "accuracy", "auroc", "mcc")


def _auroc(y: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    """Macro one-vs-rest AUROC over the classes present in `y` (NaN if fewer than two are present)."""
    present = np.unique(y)
    if len(present) < 2:
        return float("nan")
    if n_classes == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    if len(present) < n_classes:  # a rare class absent from a (bootstrap) sample: score the present ones
        return float(np.mean([roc_auc_score(y == c, proba[:, c]) for c in present]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=np.arange(n_classes)))


def metric_value(name: str, y: np.ndarray, proba: np.ndarray) -> float:
    """One classification metric from labels (N,) and class probabilities (N, K)."""
    with warnings.catch_warnings():  # a rare class missing from a bootstrap sample is expected, not news
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        return _metric_value(name, y, proba)


def _metric_value(name: str, y: np.ndarray, proba: np.ndarray) -> float:
    pred = proba.argmax(1)
    if name == "balanced_accuracy":
        return float(balanced_accuracy_score(y, pred))
    if name == "accuracy":
        return float(accuracy_score(y, pred))
    if name == "auroc":
        return _auroc(y, proba, proba.shape[1])
    if name == "mcc":
        return float(matthews_corrcoef(y, pred))
    raise ValueError(f"unknown metric {name!r}")


def classification_report(y: np.ndarray, logits: np.ndarray) -> dict:
    """All classification metrics for labels (N,) and logits (N, K): scalars, per-class accuracy, confusion."""
    proba = softmax(logits, axis=1)
    k = logits.shape[1]
    cm = confusion_matrix(y, proba.argmax(1), labels=np.arange(k))
    support = cm.sum(1)
    per_class = np.divide(np.diag(cm), support, out=np.full(k, np.nan), where=support > 0)
    return dict(
        scalars={m: metric_value(m, y, proba) for m in CLASSIFICATION_METRICS},
        per_class_accuracy=per_class.tolist(),
        support=support.tolist(),
        confusion=cm.tolist(),
        proba=proba,
    )


# --- bootstrap: every resample's metric at once (profiled: sklearn's per-call overhead made the bootstrap CIs
# half of a quick diagnosis). Exact: the same formulas as the sklearn scorers above, tested equal to them. ---------
def resample_counts(n: int, n_boot: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, n) multiplicity of each test sample in each bootstrap resample.

    Without `groups`: images drawn with replacement (`rng.integers(0, n, n)`, n_boot times). With groups (n,), e.g.
    patient ids: a cluster bootstrap, whole groups drawn with replacement (as many draws as groups), each draw adding
    every image of its group, so a resample's size varies and images of one patient move together.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        idx = rng.integers(0, n, (n_boot, n))
        return np.stack([np.bincount(row, minlength=n) for row in idx])
    assert len(groups) == n, (len(groups), n)
    _, member = np.unique(groups, return_inverse=True)
    k = int(member.max()) + 1
    drawn = np.stack([np.bincount(row, minlength=k) for row in rng.integers(0, k, (n_boot, k))])  # (B, G)
    return drawn[:, member]


def bootstrap_values(name: str, y: np.ndarray, proba: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """`metric_value(name, y[idx], proba[idx])` for every resample given as counts (B, N) -> (B,)."""
    if name == "auroc":
        return _bootstrap_auroc(y, proba, counts)
    k = proba.shape[1]
    cell = np.eye(k * k)[y * k + proba.argmax(1)]  # (N, K²): each sample's (true, predicted) confusion cell
    cm = (counts @ cell).reshape(len(counts), k, k)  # (B, K, K) confusion matrix of every resample
    t_sum, p_sum, correct = cm.sum(2), cm.sum(1), np.trace(cm, axis1=1, axis2=2)
    n = t_sum.sum(1)
    if name == "accuracy":
        return correct / n
    if name == "balanced_accuracy":  # mean recall over the classes present in the resample
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.diagonal(cm, axis1=1, axis2=2) / t_sum
        return np.nanmean(recall, axis=1)
    if name == "mcc":  # sklearn's multiclass MCC (Gorodkin 2004), 0 where undefined
        cov_tp = correct * n - (t_sum * p_sum).sum(1)
        denom = (n**2 - (p_sum**2).sum(1)) * (n**2 - (t_sum**2).sum(1))
        return np.divide(cov_tp, np.sqrt(denom), out=np.zeros_like(cov_tp), where=denom != 0)
    raise ValueError(f"unknown metric {name!r}")


def _bootstrap_auroc(y: np.ndarray, proba: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Macro one-vs-rest AUROC per resample as `_auroc`: the Mann-Whitney statistic with ties counted 1/2 (equal to
    sklearn's trapezoidal ROC area), averaged over classes present; NaN with fewer than two classes."""
    k = proba.shape[1]
    w = counts.astype(np.float64)
    aucs = []
    for c in [1] if k == 2 else range(k):
        order = np.argsort(proba[:, c], kind="stable")
        scores, pos = proba[order, c], y[order] == c
        starts = np.r_[0, np.nonzero(np.diff(scores))[0] + 1]  # groups of tied scores
        pos_g = np.add.reduceat(w[:, order] * pos, starts, axis=1)
        neg_g = np.add.reduceat(w[:, order] * ~pos, starts, axis=1)
        below = np.cumsum(neg_g, axis=1) - neg_g
        u = (pos_g * (below + 0.5 * neg_g)).sum(1)
        n_pos, n_neg = pos_g.sum(1), neg_g.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            aucs.append(np.where((n_pos > 0) & (n_neg > 0), u / (n_pos * n_neg), np.nan))
    aucs = np.stack(aucs, 1)
    present = (w @ np.eye(k)[y] > 0).sum(1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: resamples with one class
        return np.where(present >= 2, np.nanmean(aucs, axis=1), np.nan)


def difference_draws(
    y: np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """metric(a) − metric(b) on the test set and its paired bootstrap draws (B,): both arms scored on the same
    resamples, of images, or of whole `groups` (patients) when given; NaN draws (a resample with one class) dropped."""
    point = metric_value(metric, y, proba_a) - metric_value(metric, y, proba_b)
    counts = resample_counts(len(y), n_boot, seed, groups)
    diffs = bootstrap_values(metric, y, proba_a, counts) - bootstrap_values(metric, y, proba_b, counts)
    return float(point), diffs[np.isfinite(diffs)]


def bootstrap_difference(
    y: np.ndarray,
    proba_a: np.ndarray,
    proba_b: np.ndarray,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    groups: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """metric(a) − metric(b) on the test set and its paired percentile bootstrap CI (see `difference_draws`)."""
    point, diffs = difference_draws(y, proba_a, proba_b, metric, n_boot, seed, groups)
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return point, float(lo), float(hi)


def bootstrap_ci(
    y: np.ndarray,
    proba: np.ndarray,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    groups: np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile bootstrap CI of one metric over test images, or over whole `groups` (patients) when given."""
    vals = bootstrap_values(metric, y, proba, resample_counts(len(y), n_boot, seed, groups))
    lo, hi = np.quantile(vals[np.isfinite(vals)], [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def percentile_interval(draws: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """The percentile interval of bootstrap draws; NaN bounds when there are none (every resample had one class)."""
    if not len(draws):
        return float("nan"), float("nan")
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def replicate_interval(
    points: list[float], draws: list[np.ndarray], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Mean of a quantity over a run's replicates and a two-level percentile bootstrap interval for that mean.

    points: each (seed, fold) replicate's value; draws: each replicate's cluster-bootstrap draws (`difference_draws`).
    Each resample draws as many replicates as there are, with replacement, then one bootstrap draw of each drawn
    replicate, and averages them (Davison & Hinkley 1997, sec. 3.8; resampling both levels is slightly conservative).
    One replicate gives its own cluster-bootstrap interval. Replicates without a finite value are left out.
    """
    # the interval covers training seeds and CV folds (replicates resampled) and the test patients (groups resampled)
    keep = [i for i, (p, d) in enumerate(zip(points, draws)) if np.isfinite(p) and len(d)]
    if not keep:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(keep), (n_boot, len(keep)))  # replicates drawn by each resample
    position = rng.random((n_boot, len(keep)))  # which of the drawn replicate's draws it contributes
    values = np.empty((n_boot, len(keep)))
    for j, i in enumerate(keep):
        hit = picked == j
        values[hit] = draws[i][(position[hit] * len(draws[i])).astype(int)]
    lo, hi = np.quantile(values.mean(1), [alpha / 2, 1 - alpha / 2])
    return float(np.mean([points[i] for i in keep])), float(lo), float(hi)


def reconstruction_fidelity(images: np.ndarray, recon: np.ndarray) -> dict:
    """Mean PSNR (dB) and SSIM of reconstructions; both (N, C, H, W) in [0, 1] (see `per_sample_fidelity`)."""
    psnr, ssim = per_sample_fidelity(images, recon)
    return dict(psnr=float(np.mean(psnr)), ssim=float(np.mean(ssim)))


def per_sample_fidelity(images: np.ndarray, recon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSNR (dB) and SSIM of each reconstruction, (N,) each; inputs (N, C, H, W) in [0, 1].

    A grayscale image against an RGB reconstruction is compared as the image repeated to RGB, and an RGB image
    against a grayscale reconstruction (1-channel AEs such as MedVAE 4x1) as its channel mean — how each was encoded.
    """
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    if images.shape[1] == 1 and recon.shape[1] == 3:
        images = np.repeat(images, 3, axis=1)
    elif images.shape[1] == 3 and recon.shape[1] == 1:
        images = images.mean(axis=1, keepdims=True)

    psnr, ssim = [], []
    for a, b in zip(images, recon):
        a, b = a.transpose(1, 2, 0).astype(np.float64), b.transpose(1, 2, 0).astype(np.float64)
        psnr.append(peak_signal_noise_ratio(a, b, data_range=1.0))
        ssim.append(structural_similarity(a, b, data_range=1.0, channel_axis=2, win_size=7))
    return np.asarray(psnr), np.asarray(ssim)
