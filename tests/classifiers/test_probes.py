import numpy as np

from latentgap.classifiers.probes import probe_proba
from latentgap.metrics import metric_value


def test_probes_read_a_linear_label():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 16))
    w = rng.normal(size=(16, 3))
    y = (z @ w).argmax(1)  # label = a linear function of the latent
    for kind, floor in (("linear", 0.95), ("knn", 0.7)):
        p = probe_proba(kind, z[:600], y[:600], z[600:], 3)
        assert p.shape == (400, 3) and np.allclose(p.sum(1), 1)
        assert metric_value("balanced_accuracy", y[600:], p) > floor, kind


def test_a_class_missing_from_train_keeps_zero_probability():
    rng = np.random.default_rng(0)
    z, y = rng.normal(size=(50, 4)), np.array([0, 1] * 25)
    assert np.all(probe_proba("linear", z, y, z, 3)[:, 2] == 0)
