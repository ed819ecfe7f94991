import numpy as np
import pytest
import torch

from latentgap import LatentgapError
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.train import LDAMLoss, TrainConfig, class_balanced_weights, fit, ldam_margins, predict_logits


def test_ldam_margins_follow_the_formula():
    counts = np.array([1000, 100, 10])
    m = ldam_margins(counts).numpy()
    expected = counts**-0.25 / (10**-0.25) * 0.5
    assert np.allclose(m, expected) and m.max() == pytest.approx(0.5)


def test_class_balanced_weights_follow_the_formula():
    counts, beta = np.array([1000, 100, 10]), 0.9999
    raw = (1 - beta) / (1 - beta**counts)
    assert np.allclose(class_balanced_weights(counts, beta).numpy(), raw / raw.sum() * 3)


def test_ldam_loss_penalises_the_true_class_by_its_margin():
    loss = LDAMLoss(np.array([100, 1]), s=30.0)
    logits = torch.zeros(1, 2)
    # true class 1 (rare, margin 0.5): its logit drops by s*0.5 = 15 before cross-entropy
    expected = torch.nn.functional.cross_entropy(torch.tensor([[0.0, -15.0]]), torch.tensor([1]))
    assert loss(logits, torch.tensor([1])).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("loss", ["ldam", "ce"])
def test_fit_learns_a_separable_problem(loss):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = torch.randn(300, 4, 8, 8) * 0.5
    x[np.arange(300), y] += 1.5  # class = the channel that is bright
    model = ConvNeXt(4, 3, depths=(1, 1, 1, 1), dims=(16, 16, 32, 32), stem_stride=1, normed_head=loss == "ldam")
    cfg = TrainConfig(epochs=8, batch_size=32, lr=2e-3, loss=loss, drw_epoch=5, patience=8, augment="latent")
    model, hist = fit(model, x[:200], y[:200], x[200:], y[200:], cfg, seed=0)
    acc = (predict_logits(model, x[200:], "cpu").argmax(1) == y[200:]).mean()
    assert acc > 0.9 and hist["best_val_balanced_accuracy"] > 0.9


def test_fit_reports_a_non_finite_loss():
    x, y = torch.full((20, 3, 16, 16), float("nan")), np.array([0, 1] * 10)
    model = ResNet(3, 2, (1, 1, 1, 1), 4, "basic")
    with pytest.raises(LatentgapError, match="train: non-finite"):
        fit(model, x, y, x, y, TrainConfig(epochs=1, batch_size=8, loss="ce"), seed=0)
