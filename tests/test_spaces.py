"""Each space really is what it claims: constructed datasets where the answer is known (embedded zoo AE)."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from latentgap.autoencoders.loading import load_autoencoder
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.probes import probe_proba
from latentgap.classifiers.train import TrainConfig, fit, predict_logits
from latentgap.encode import encode_decode, normalize_latents
from latentgap.metrics import metric_value
from latentgap.structure import pooled_latents

pytestmark = pytest.mark.slow


def _smooth_images(n, size=32, seed=0):
    rng = np.random.default_rng(seed)
    imgs = np.stack([gaussian_filter(rng.normal(size=(size, size)), 4) for _ in range(n)])
    imgs = 0.5 + 0.25 * imgs / imgs.std()
    return np.clip(imgs, 0.05, 0.95).astype(np.float32)[:, None]


def _bacc(model, x, y, sigma=None):
    return metric_value("balanced_accuracy", y, np.eye(2)[predict_logits(model, x, "cpu", sigma=sigma).argmax(1)])


def test_fine_texture_the_ae_blurs_away_is_lost_in_reconstruction_space():
    n = 300
    y = np.arange(n) % 2
    images = _smooth_images(n)
    checker = (np.indices((32, 32)).sum(0) % 2 * 2 - 1).astype(np.float32) * 0.05  # 1-px checkerboard
    images[y == 1, 0] += checker
    ae = load_autoencoder("zoo:sd-vae-mini")
    _, recons = encode_decode(ae, images, 32, "cpu")
    cfg = TrainConfig(epochs=6, batch_size=32, lr=2e-3, loss="ce", patience=6, augment="none")
    scores = {}
    for name, x in (
        ("image", torch.from_numpy(images).repeat(1, 3, 1, 1)),
        ("reconstruction", torch.from_numpy(recons)),
    ):
        x = (x - 0.5) / 0.25
        model, _ = fit(ResNet(3, 2, (1, 1, 1, 1), 16, "basic"), x[:200], y[:200], x[200:], y[200:], cfg, seed=0)
        scores[name] = _bacc(model, x[200:], y[200:])
    assert scores["image"] > 0.9 and scores["reconstruction"] < 0.7, scores


def test_a_label_linear_in_the_latent_is_learned_from_the_latent():
    images = _smooth_images(800, size=64, seed=1)
    latents, _ = encode_decode(load_autoencoder("zoo:sd-vae-mini"), images, 32, "cpu")
    z, _, _ = normalize_latents(latents, np.arange(len(latents)))
    w = np.random.default_rng(0).normal(size=z.shape[1])
    score = z.mean(axis=(2, 3)) @ w  # a linear function of the latent: weighted channel means
    margin = np.abs(score - np.median(score))
    keep = margin > np.quantile(margin, 0.4)  # drop the 40 % nearest the boundary
    z, y = z[keep], (score[keep] > np.median(score)).astype(np.int64)
    n_train, n_val = int(0.6 * len(y)), int(0.7 * len(y))
    flat = pooled_latents(z)
    probe = probe_proba("linear", flat[:n_train], y[:n_train], flat[n_val:], 2)
    assert metric_value("balanced_accuracy", y[n_val:], probe) > 0.95
    x = torch.from_numpy(z)
    model = ConvNeXt(4, 2, depths=(1, 1, 1, 1), dims=(32, 64, 128, 256), stem_stride=1, drop_path=0.0)
    cfg = TrainConfig(epochs=25, batch_size=32, lr=1e-3, loss="ce", drw_epoch=25, patience=25, augment="none")
    model, _ = fit(model, x[:n_train], y[:n_train], x[n_train:n_val], y[n_train:n_val], cfg, seed=0)
    # measured 0.91: the ConvNeXt's per-position LayerNorm hides part of a pooled linear signal (open point)
    assert _bacc(model, x[n_val:], y[n_val:]) > 0.85
