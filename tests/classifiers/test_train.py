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


class _Recorder(torch.nn.Module):
    """A linear classifier that keeps every training input it sees (to read the noise ε back)."""

    def __init__(self, c: int, n_classes: int = 2):
        super().__init__()
        self.linear = torch.nn.Linear(c * 4 * 4, n_classes)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x.detach().clone())
        return self.linear(x.flatten(1))


def _noise_seen(seed: int, epochs: int = 3) -> list[torch.Tensor]:
    """The first training batch of every epoch on all-zero inputs at one σ: σ·ε·c_in, i.e. the noise itself."""
    x, y = torch.zeros(8, 2, 4, 4), np.array([0, 1] * 4)
    model = _Recorder(2)
    cfg = TrainConfig(epochs=epochs, batch_size=8, lr=1e-3, loss="ce", drw_epoch=epochs, patience=epochs)
    # validation between epochs used to reseed the global RNG (the same ε every epoch and for every seed)
    fit(model, x, y, x, y, cfg, seed=seed, sigmas=np.array([1.0]))
    return model.seen


def test_training_noise_differs_between_epochs_and_between_seeds():
    a, b = _noise_seen(0), _noise_seen(1)
    assert all(t.abs().sum() > 0 for t in a)
    assert not torch.equal(a[0], a[1]) and not torch.equal(a[1], a[2])  # epochs
    assert not any(torch.equal(s, t) for s, t in zip(a, b))  # seeds
    assert all(torch.equal(s, t) for s, t in zip(a, _noise_seen(0)))  # and a seed still reproduces itself


def test_patience_is_counted_afresh_at_the_drw_epoch():
    x, y = torch.randn(20, 2, 4, 4), np.array([0, 1] * 10)
    cfg = TrainConfig(epochs=30, batch_size=10, lr=0.0, loss="ce", drw_epoch=6, patience=3)  # lr 0: never improves
    _, hist = fit(_Recorder(2), x, y, x, y, cfg, seed=0)
    # best at epoch 0; patience restarts after epoch 5 (the last before DRW) and runs out 3 epochs later, at epoch 8
    assert hist["best_epoch"] == 0 and hist["epochs_run"] == 9


def test_convergence_flag():
    from latentgap.classifiers.train import converged

    flat = [dict(loss=1.0)] * 20
    falling = [dict(loss=1.0 - 0.03 * i) for i in range(20)]
    assert converged(flat, best_epoch=5, budget=20)
    assert not converged(flat, best_epoch=18, budget=20)  # best epoch in the last 15 % of the budget
    assert not converged(falling, best_epoch=5, budget=20)  # ran the whole budget with the loss still falling
    assert converged(falling[:12], best_epoch=5, budget=20)  # early stopping stopped it
