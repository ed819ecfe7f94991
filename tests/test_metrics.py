import numpy as np
import pytest
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, matthews_corrcoef, roc_auc_score

from latentgap import metrics


@pytest.mark.parametrize("n_classes,imbalance", [(2, 1.0), (6, 1.0), (6, 0.05), (19, 0.02)])
def test_classification_metrics_equal_sklearn(n_classes, imbalance):
    rng = np.random.default_rng(n_classes)
    prevalence = np.geomspace(1, imbalance, n_classes)
    y = rng.choice(n_classes, size=800, p=prevalence / prevalence.sum())
    y[:n_classes] = np.arange(n_classes)  # every class present
    logits = rng.normal(size=(800, n_classes)) + 2.0 * np.eye(n_classes)[y]
    report = metrics.classification_report(y, logits)
    proba, pred = softmax(logits, axis=1), logits.argmax(1)
    s = report["scalars"]
    assert s["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert s["mcc"] == pytest.approx(matthews_corrcoef(y, pred))
    assert s["accuracy"] == pytest.approx((pred == y).mean())
    expected_auc = roc_auc_score(y, proba[:, 1]) if n_classes == 2 else roc_auc_score(y, proba, multi_class="ovr")
    assert s["auroc"] == pytest.approx(expected_auc)
    cm = np.asarray(report["confusion"])
    assert cm.sum() == 800 and np.allclose(report["per_class_accuracy"], np.diag(cm) / cm.sum(1))


def test_bootstrap_difference_is_paired_and_brackets_the_point():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = softmax(rng.normal(size=(300, 3)) + 3 * np.eye(3)[y], axis=1)
    bad = softmax(rng.normal(size=(300, 3)), axis=1)
    point, lo, hi = metrics.bootstrap_difference(y, good, bad, "balanced_accuracy", n_boot=200)
    assert lo <= point <= hi and lo > 0.3  # a clearly better classifier: CI excludes 0
    same = metrics.bootstrap_difference(y, good, good, "balanced_accuracy", n_boot=50)
    assert same == (0.0, 0.0, 0.0)  # paired resampling: identical inputs give exactly zero


def test_auroc_with_a_class_missing_from_the_sample():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.6, 0.2, 0.2], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    assert metrics.metric_value("auroc", y, proba) == pytest.approx(1.0)


def test_reconstruction_fidelity():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(4, 3, 32, 32)).astype(np.float32)
    noisy = np.clip(x + rng.normal(0, 0.1, x.shape), 0, 1).astype(np.float32)
    fid = metrics.reconstruction_fidelity(x, noisy)
    assert 19 < fid["psnr"] < 22  # sigma 0.1 noise: ~20 dB
    assert 0 < fid["ssim"] < 0.95
    assert metrics.reconstruction_fidelity(x, x)["ssim"] == pytest.approx(1.0)


def test_fidelity_of_grayscale_against_rgb_reconstruction():
    x = np.random.default_rng(0).uniform(size=(2, 1, 16, 16)).astype(np.float32)
    assert metrics.reconstruction_fidelity(x, np.repeat(x, 3, axis=1))["ssim"] == pytest.approx(1.0)


def test_fidelity_of_rgb_against_grayscale_reconstruction():
    rgb = np.random.default_rng(1).uniform(size=(2, 3, 16, 16)).astype(np.float32)
    gray = rgb.mean(axis=1, keepdims=True)
    assert metrics.reconstruction_fidelity(rgb, gray)["ssim"] == pytest.approx(1.0)
    assert metrics.reconstruction_fidelity(rgb, gray * 0.9)["psnr"] < 40


@pytest.mark.parametrize("n_classes,imbalance", [(2, 1.0), (3, 1.0), (6, 0.05), (19, 0.02)])
def test_vectorised_bootstrap_equals_the_sklearn_loop(n_classes, imbalance):
    """Every resample's metric computed at once equals metric_value on that resample (ties, absent classes)."""
    rng = np.random.default_rng(n_classes)
    prevalence = np.geomspace(1, imbalance, n_classes)
    y = rng.choice(n_classes, size=300, p=prevalence / prevalence.sum())
    y[:n_classes] = np.arange(n_classes)
    proba = softmax(rng.normal(size=(300, n_classes)) + 1.5 * np.eye(n_classes)[y], axis=1)
    proba[n_classes : n_classes + 20] = proba[n_classes + 20 : n_classes + 40]  # tied scores
    counts = metrics.resample_counts(300, 100, seed=0)
    draws = np.random.default_rng(0).integers(0, 300, (100, 300))
    for name in metrics.CLASSIFICATION_METRICS:
        expected = [metrics.metric_value(name, y[idx], proba[idx]) for idx in draws]
        np.testing.assert_allclose(metrics.bootstrap_values(name, y, proba, counts), expected, atol=1e-12)


def _patients_all_right_or_all_wrong(n_patients=40, per_patient=10):
    """Two classes; each patient's 10 images are all classified right or all wrong (a patient effect)."""
    groups = np.repeat(np.arange(n_patients), per_patient)
    y = np.repeat(np.arange(n_patients) % 2, per_patient)
    right = np.repeat(np.arange(n_patients) % 4 < 2, per_patient)  # half the patients of each class right
    pred = np.where(right, y, 1 - y)
    return y, np.eye(2)[pred], np.full((len(y), 2), 0.5) + 1e-3 * np.eye(2)[y], groups


def test_the_cluster_bootstrap_resamples_patients_not_images():
    y, proba_a, proba_b, groups = _patients_all_right_or_all_wrong()
    counts = metrics.resample_counts(len(y), 200, 0, groups)
    per_patient = counts.reshape(200, 40, 10)
    assert (per_patient == per_patient[:, :, :1]).all()  # a patient's images are drawn together
    assert (per_patient[:, :, 0].sum(1) == 40).all()  # as many patients drawn as there are
    _, lo_img, hi_img = metrics.bootstrap_difference(y, proba_a, proba_b, "accuracy", 1000, 0)
    _, lo_pat, hi_pat = metrics.bootstrap_difference(y, proba_a, proba_b, "accuracy", 1000, 0, groups=groups)
    # 10 correlated images per patient: the honest interval is about sqrt(10) = 3.2x wider
    assert (hi_pat - lo_pat) > 2.5 * (hi_img - lo_img)
    lo, hi = metrics.bootstrap_ci(y, proba_a, "accuracy", 1000, 0, groups=groups)
    assert lo < 0.5 < hi and hi - lo > 0.25


def test_the_replicate_interval_covers_the_spread_of_replicates_not_the_mean_of_their_bounds():
    rng = np.random.default_rng(0)
    points = [0.0, 0.4]  # two replicates far apart, each with a narrow interval of its own
    draws = [p + rng.normal(0, 0.005, 500) for p in points]
    value, lo, hi = metrics.replicate_interval(points, draws, 2000, 0)
    mean_of_bounds = np.mean([np.quantile(d, [0.025, 0.975]) for d in draws], axis=0)
    assert value == pytest.approx(0.2)
    assert lo < 0.02 and hi > 0.38  # resampling replicates: the mean could have been either
    assert mean_of_bounds[1] - mean_of_bounds[0] < 0.03  # what averaging bounds would have claimed
    one = metrics.replicate_interval([0.4], [draws[1]], 2000, 0)  # one replicate: its own interval
    assert one[1] == pytest.approx(np.quantile(draws[1], 0.025), abs=0.003)
    assert np.isnan(metrics.replicate_interval([float("nan")], [np.array([])], 100, 0)[1])
