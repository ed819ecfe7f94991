import numpy as np
import pytest
import torch

from latentgap import LatentgapError
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.train import (
    CLEAN_SIGMA,
    LDAMLoss,
    TrainConfig,
    class_balanced_weights,
    distillation_mse,
    fit,
    head_scale,
    ldam_margins,
    lr_at,
    make_optimizer,
    predict_logits,
    smoothed,
)


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

    def run(losses, scores):
        return [dict(loss=loss, val_balanced_accuracy=v) for loss, v in zip(losses, scores, strict=True)]

    early = [min(0.5 + 0.1 * i, 0.8) for i in range(20)]  # on its plateau from epoch 3
    flat, falling = [1.0] * 20, [1.0 - 0.03 * i for i in range(20)]
    assert converged(run(flat, early), budget=20)
    late = [0.5 + 0.01 * i for i in range(20)]  # still rising at the end: 0.69, more than 0.01 above epoch 16
    assert not converged(run(flat, late), budget=20)
    wobble = [*early[:18], 0.805, 0.808]  # best epoch in the last 15 %, by less than the plateau tolerance
    assert converged(run(flat, wobble), budget=20)
    assert not converged(run(falling, early), budget=20)  # ran the whole budget with the loss still falling
    assert converged(run(falling[:12], early[:12]), budget=20)  # early stopping stopped it
    noisy = [0.6, 0.9] * 10  # raw: on its best value from epoch 1; a heavy EMA of it still climbs at the end
    assert converged(run(flat, noisy), budget=20) and not converged(run(flat, noisy), budget=20, ema=0.9)


def test_paper_schedule_drops_the_learning_rate_tenfold_at_drw():
    cfg = TrainConfig(epochs=60, lr=1e-4, drw_epoch=10)
    assert [lr_at(cfg, e) for e in (0, 9, 10, 59)] == pytest.approx([1e-4, 1e-4, 1e-5, 1e-5])


def test_warm_up_then_cosine_schedule():
    cfg = TrainConfig(epochs=10, lr=1.0, warmup_epochs=2, schedule="cosine")
    # linear warm-up over epochs 0-1, then cosine from lr at epoch 2 towards 0 at epoch 10 (8 epochs of decay)
    expected = [0.5, 1.0, 1.0, *(0.5 * (1 + np.cos(np.pi * t / 8)) for t in range(1, 8))]
    assert [lr_at(cfg, e) for e in range(10)] == pytest.approx(expected)
    assert lr_at(cfg, 6) == pytest.approx(0.5)


def test_fit_trains_with_the_scheduled_learning_rate():
    x, y = torch.randn(20, 2, 4, 4), np.array([0, 1] * 10)
    cfg = TrainConfig(
        epochs=6, batch_size=10, lr=0.01, loss="ce", drw_epoch=6, patience=6, warmup_epochs=2, schedule="cosine"
    )
    _, hist = fit(_Recorder(2), x, y, x, y, cfg, seed=0)
    assert [h["lr"] for h in hist["history"]] == pytest.approx([lr_at(cfg, e) for e in range(6)])


def test_adamw_decays_weights_but_not_biases_norms_or_layer_scales():
    model = ConvNeXt(4, 3, depths=(1, 1, 1, 1), dims=(8, 8, 8, 8), stem_stride=1)
    opt = make_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.05))
    decayed, plain = opt.param_groups
    assert isinstance(opt, torch.optim.AdamW) and decayed["weight_decay"] == 0.05 and plain["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decayed["params"]) and all(p.ndim < 2 for p in plain["params"])
    assert any(p is model.stages[0][0].gamma for p in plain["params"])
    assert isinstance(make_optimizer(model, TrainConfig()), torch.optim.Adam)  # the paper's default


def test_ema_criterion_selects_a_steady_epoch_over_a_single_spike():
    scores = [0.5, 0.9, 0.5, 0.7, 0.72, 0.74]  # one lucky epoch, then a steady climb
    assert smoothed(scores, 0.0) == scores
    assert smoothed(scores, 0.5) == pytest.approx([0.5, 0.7, 0.6, 0.65, 0.685, 0.7125])
    assert int(np.argmax(scores)) == 1 and int(np.argmax(smoothed(scores, 0.5))) == 5


@pytest.mark.parametrize("ema", [0.0, 0.6])
def test_fit_selects_the_epoch_of_the_best_smoothed_validation_score(ema):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    x = torch.randn(120, 2, 4, 4)
    x[:, 0] += torch.from_numpy(y * 0.6).float()[:, None, None]  # weakly separable: validation scores wobble
    cfg = TrainConfig(epochs=12, batch_size=16, lr=0.05, loss="ce", drw_epoch=12, patience=12, val_ema=ema)
    _, hist = fit(_Recorder(2), x[:60], y[:60], x[60:], y[60:], cfg, seed=0)
    scores = [h["val_balanced_accuracy"] for h in hist["history"]]
    assert hist["best_epoch"] == int(np.argmax(smoothed(scores, ema)))
    assert hist["best_val_balanced_accuracy"] == scores[hist["best_epoch"]]  # the raw score of the selected epoch


class _SigmaRecorder(_Recorder):
    """A noise-conditioned stand-in (it has `films`) that keeps the σ it is told."""

    films = ()

    def forward(self, x, sigma=None):
        self.sigmas = sigma
        return self.linear(x.flatten(1))


def test_a_noise_trained_model_is_told_the_authors_clean_sigma_on_clean_input():
    model = _SigmaRecorder(2)
    model.noise_trained = True
    predict_logits(model, torch.zeros(3, 2, 4, 4), "cpu")
    assert CLEAN_SIGMA == 1e-5 and torch.allclose(model.sigmas, torch.full((3,), 1e-5))


def test_distillation_compares_raw_logits_before_the_cosine_heads_scale():
    """The authors' MSE is on raw logits (their heads are linear, LDAM applies the x30): for a cosine head, cosines."""
    model = ConvNeXt(4, 3, depths=(1, 1, 1, 1), dims=(8, 8, 8, 8), stem_stride=1, normed_head=True).eval()
    logits = model(torch.randn(5, 4, 8, 8))
    cosines = logits / 30.0
    assert head_scale(model) == 30.0 and cosines.abs().max() <= 1.0
    assert distillation_mse(model, logits, cosines).item() == pytest.approx(0.0, abs=1e-10)
    target = torch.zeros_like(logits)
    assert distillation_mse(model, logits, target).item() == pytest.approx((cosines**2).mean().item())  # not x900
    linear = ConvNeXt(4, 3, depths=(1, 1, 1, 1), dims=(8, 8, 8, 8), stem_stride=1).eval()
    assert head_scale(linear) == 1.0  # a linear head's logits are raw already
