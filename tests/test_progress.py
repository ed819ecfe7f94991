"""The cooperative progress / cancellation hook: the loops of `train.fit` and `encode.encode_decode` report once per
batch, and a listener that raises stops them at that batch."""

import numpy as np
import pytest
import torch

from latentgap import progress
from latentgap.autoencoders.loading import load_autoencoder
from latentgap.classifiers.models import ResNet
from latentgap.classifiers.train import TrainConfig, fit
from latentgap.encode import encode_decode


class Stop(Exception):
    pass


class TripAfter:
    """A listener that records every report and raises `Stop` on the `n`-th one."""

    def __init__(self, n: int):
        self.n, self.reports = n, []

    def __call__(self, fraction, detail):
        self.reports.append((fraction, detail))
        if len(self.reports) == self.n:
            raise Stop


def _count_calls(module: torch.nn.Module, method: str) -> list:
    calls, original = [], getattr(module, method)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    setattr(module, method, counted)
    return calls


def test_report_without_a_listener_does_nothing():
    progress.report(0.5, "anything")  # outside a job: no listener, no error


def test_a_tripping_listener_stops_fit_within_one_batch():
    x, y = torch.randn(64, 3, 16, 16), np.array([0, 1] * 32)
    model = ResNet(3, 2, (1, 1, 1, 1), 4, "basic")
    steps = _count_calls(model, "forward")  # one forward per training batch (and per validation batch)
    listener = TripAfter(3)
    cfg = TrainConfig(epochs=5, batch_size=8, loss="ce", augment="none")  # 8 batches an epoch
    with progress.listening(listener), pytest.raises(Stop):
        fit(model, x, y, x[:16], y[:16], cfg, seed=0)
    assert len(steps) == 3  # the third batch reported and nothing ran after it
    fractions = [f for f, _ in listener.reports]
    assert fractions == pytest.approx([1 / 40, 2 / 40, 3 / 40])  # batch k of 8 in epoch 1 of 5
    assert listener.reports[0][1] == "epoch 1/5"


def test_fit_reports_its_fraction_up_to_the_whole_budget():
    x, y = torch.randn(32, 3, 16, 16), np.array([0, 1] * 16)
    listener = TripAfter(10_000)
    with progress.listening(listener):
        fit(ResNet(3, 2, (1, 1, 1, 1), 4, "basic"), x, y, x, y, TrainConfig(epochs=2, batch_size=8, loss="ce"), 0)
    fractions = [f for f, _ in listener.reports if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert any(f is None for f, _ in listener.reports)  # validation batches: a chance to cancel, no new fraction


def test_a_tripping_listener_stops_encoding_within_one_batch(tiny_ae_dir):
    ae = load_autoencoder(str(tiny_ae_dir))
    encodes = _count_calls(ae, "encode")
    images = np.random.default_rng(0).uniform(size=(10, 1, 32, 32)).astype(np.float32)
    listener = TripAfter(2)
    with progress.listening(listener), pytest.raises(Stop):
        encode_decode(ae, images, batch_size=2, device="cpu")
    assert len(encodes) == 2 and listener.reports == [(0.2, "2/10 images"), (0.4, "4/10 images")]


def test_the_listener_is_gone_after_its_block():
    listener = TripAfter(1)
    with progress.listening(listener), pytest.raises(Stop):
        progress.report(0.1)
    progress.report(0.2)  # no listener any more: nothing raised
    assert listener.reports == [(0.1, "")]
