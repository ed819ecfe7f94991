"""One training loop for every classifier: the space (image, reconstruction, latent) is only an input.

Long-tail recipe of the paper: LDAM loss (Cao et al. 2019, margins ∝ n_c^-1/4, max 0.5, scale 30) with
deferred re-weighting (DRW): at `drw_epoch` the learning rate drops 10x and class-balanced weights
(1-β)/(1-β^n_c), β = 0.9999 (Cui et al. 2019) switch on. Adam; early stopping on validation balanced
accuracy, restoring the best weights; patience is counted afresh from `drw_epoch`, when the learning rate drops, and
only stops training from then on (so a slow start, e.g. under noise training, is not cut short). The history says
whether a run `converged` (validation score on its plateau before the last 15 % of the budget, training loss no
longer falling). Plain
cross-entropy is the alternative. `TrainConfig`'s defaults are that recipe; the quick profile's tuned recipe
(spec.py) swaps in AdamW, a warm-up + cosine schedule (which replaces DRW's 10x drop; the re-weighting stays) and
selection on an EMA of the validation score.

Noise conditioning (the paper's FiLM classifiers): with `sigmas`, each training sample draws a level σ from
the schedule and sees x + σ·ε; a noise-conditioned model (one with FiLM layers) is also told σ.
Distillation: with `teacher_logits`, loss = α·(LDAM or CE) + (1 − α)·MSE(student, teacher), both on raw logits:
before a cosine head's ×30 scale (the authors' heads are linear; their LDAM applies the 30).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score
from tqdm import tqdm

from latentgap import progress
from latentgap.errors import LatentgapError


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-4
    loss: str = "ldam"  # "ldam" | "ce"
    drw_epoch: int = 10
    patience: int = 15
    augment: str = "none"  # "image": flip + rotation 15°; "latent": random masking; "none"
    mask_ratio: float = 0.2
    rotation_deg: float = 15.0
    # the defaults are the paper's recipe; the quick profile's tuned recipe changes them (spec.py)
    optimizer: str = "adam"  # "adam" | "adamw" (decoupled weight decay on weights, not on biases / norms / gammas)
    weight_decay: float = 0.0
    warmup_epochs: int = 0  # linear warm-up of the learning rate over the first epochs
    schedule: str = "step"  # "step": lr drops 10x at drw_epoch (the paper's DRW); "cosine": cosine decay to 0
    val_ema: float = 0.0  # model selection on an EMA of validation balanced accuracy (0: the raw score, the paper)

    def __post_init__(self):
        assert self.loss in ("ldam", "ce"), self.loss
        assert self.augment in ("image", "latent", "none"), self.augment
        assert self.optimizer in ("adam", "adamw") and self.schedule in ("step", "cosine"), self
        assert 0.0 <= self.val_ema < 1.0 and 0 <= self.warmup_epochs < self.epochs, self


def lr_at(cfg: TrainConfig, epoch: int) -> float:
    """Learning rate of `epoch` (0-based): linear warm-up, then the paper's 10x step at DRW or a cosine decay."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr * (epoch + 1) / cfg.warmup_epochs
    if cfg.schedule == "cosine":
        t = (epoch - cfg.warmup_epochs) / (cfg.epochs - cfg.warmup_epochs)
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))
    return cfg.lr * (0.1 if epoch >= cfg.drw_epoch else 1.0)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam (the paper) or AdamW; weight decay only on weight matrices and kernels (ndim >= 2), as usual for
    ConvNeXt (Liu et al. 2022): decaying LayerNorm or layer-scale parameters would pull the blocks back to zero."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        dict(params=[p for p in params if p.ndim >= 2], weight_decay=cfg.weight_decay),
        dict(params=[p for p in params if p.ndim < 2], weight_decay=0.0),
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def smoothed(scores: list[float], ema: float) -> list[float]:
    """Exponential moving average of per-epoch validation scores (ema 0: the scores themselves)."""
    out = []
    for s in scores:
        out.append(s if not out else ema * out[-1] + (1 - ema) * s)
    return out


def ldam_margins(class_counts: np.ndarray, max_margin: float = 0.5) -> torch.Tensor:
    """Per-class margins m_c = C / n_c^(1/4), with C chosen so that max_c m_c = `max_margin`."""
    m = 1.0 / np.power(np.maximum(class_counts, 1), 0.25)
    return torch.tensor(m * (max_margin / m.max()), dtype=torch.float32)


def class_balanced_weights(class_counts: np.ndarray, beta: float = 0.9999) -> torch.Tensor:
    """Class-balanced weights (1-β)/(1-β^n_c), normalised to sum to the number of classes."""
    w = (1.0 - beta) / (1.0 - np.power(beta, np.maximum(class_counts, 1)))
    return torch.tensor(w / w.sum() * len(class_counts), dtype=torch.float32)


class LDAMLoss(nn.Module):
    """LDAM on logits already scaled by `s` (the `NormedLinear` head): s·(cos − m_y) = logit − s·m_y."""

    def __init__(self, class_counts: np.ndarray, s: float = 30.0, max_margin: float = 0.5):
        super().__init__()
        self.register_buffer("margins", ldam_margins(class_counts, max_margin))
        self.s = s

    def forward(self, logits, target, weight=None):
        adjusted = logits - F.one_hot(target, logits.shape[1]) * (self.s * self.margins[target])[:, None]
        return F.cross_entropy(adjusted, target, weight=weight)


def _augment(x: torch.Tensor, cfg: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Train-time augmentation. x: (N, C, H, W) on its device."""
    if cfg.augment == "image":
        n = x.shape[0]
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(3), x)
        angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(cfg.rotation_deg)
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack(
            [torch.stack([cos, -sin, torch.zeros(n)], 1), torch.stack([sin, cos, torch.zeros(n)], 1)], 1
        )
        grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    elif cfg.augment == "latent":  # paper: 20 % of latent values masked elementwise
        keep = torch.rand(x.shape, generator=gen) >= cfg.mask_ratio
        x = x * keep.to(x.device, x.dtype)
    return x


CLEAN_SIGMA = 1e-5  # what a noise-conditioned model is told for clean input (the authors' code)
SIGMA_DATA = 0.5  # latents are normalised to this std (the paper, after EDM)


def head_scale(model: nn.Module) -> float:
    """The factor a cosine (LDAM) head multiplies its logits by (30), 1 for a linear head: logits / it are raw."""
    return float(getattr(getattr(model, "head", None), "scale", 1.0))


def distillation_mse(model: nn.Module, logits: torch.Tensor, teacher_raw: torch.Tensor) -> torch.Tensor:
    """MSE between the student's raw logits (its logits / `head_scale`) and the teacher's raw logits (N, K)."""
    return F.mse_loss(logits / head_scale(model), teacher_raw.to(logits.device))


def is_noise_conditioned(model: nn.Module) -> bool:
    return getattr(model, "films", None) is not None


def _forward(
    model: nn.Module, x: torch.Tensor, sigma: torch.Tensor | None, gen: torch.Generator | None = None
) -> torch.Tensor:
    """Add noise σ·ε (when σ (N,) is given; ε drawn from `gen`, a CPU generator) and call the model.

    A noise-trained model (see `fit`) gets EDM's input scaling c_in = 1/sqrt(σ² + σ_data²) (Karras et al.
    2022, Table 1), so inputs stay at unit scale from σ = 0.002 to 80, and is told σ if it has FiLM layers;
    clean input counts as σ = `CLEAN_SIGMA`.
    """
    if sigma is not None:
        eps = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        x = x + sigma.to(x.dtype)[:, None, None, None] * eps
    if not getattr(model, "noise_trained", False):
        return model(x)
    if sigma is None:
        sigma = torch.full((len(x),), CLEAN_SIGMA, device=x.device)
    x = x / torch.sqrt(sigma**2 + SIGMA_DATA**2).to(x.dtype)[:, None, None, None]
    return model(x, sigma) if is_noise_conditioned(model) else model(x)


@torch.inference_mode()
def predict_logits(
    model: nn.Module, x: torch.Tensor, device: str, batch_size: int = 256, sigma: float | None = None, seed: int = 0
) -> np.ndarray:
    """Logits (N, n_classes) for inputs x (N, C, H, W) in eval mode, optionally at noise level σ (ε from its own
    generator seeded with `seed`: the global RNG, which training draws from, is never reseeded here)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device)
        s = None if sigma is None else torch.full((len(xb),), float(sigma), device=device)
        out.append(_forward(model, xb, s, gen).float().cpu())
        progress.report()  # a dashboard job can be cancelled here
    return torch.cat(out).numpy()


def fit(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: np.ndarray,
    x_val: torch.Tensor,
    y_val: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    device: str = "cpu",
    desc: str = "train",
    sigmas: np.ndarray | None = None,
    teacher_logits: np.ndarray | None = None,
    distill_alpha: float = 0.5,
    n_classes: int | None = None,
) -> tuple[nn.Module, dict]:
    """Train `model` on (x_train, y_train), select on clean validation balanced accuracy.

    sigmas: training noise levels (one drawn per sample); teacher_logits (N_train, K): distillation targets, raw
    (the teacher's logits / its `head_scale`).
    n_classes: the model's output size (a rare class may be absent from a small training split).
    Returns (best model, history).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.noise_trained = sigmas is not None  # read by `_forward`: EDM input scaling for noise-trained models
    n_classes = n_classes or int(max(y_train.max(), y_val.max()) + 1)
    counts = np.bincount(y_train, minlength=n_classes)
    criterion = LDAMLoss(counts).to(device) if cfg.loss == "ldam" else None
    cb_weights = class_balanced_weights(counts).to(device)
    model.to(device)
    opt = make_optimizer(model, cfg)
    y_t = torch.from_numpy(y_train)
    sigma_t = None if sigmas is None else torch.as_tensor(np.asarray(sigmas), dtype=torch.float32)
    teacher_t = None if teacher_logits is None else torch.as_tensor(teacher_logits, dtype=torch.float32)
    best, best_state, best_epoch, since_best, history = -1.0, None, 0, 0, []
    bar = tqdm(range(cfg.epochs), desc=desc, unit="epoch", leave=False)
    for epoch in bar:
        drw = cfg.loss == "ldam" and epoch >= cfg.drw_epoch
        for group in opt.param_groups:
            group["lr"] = lr_at(cfg, epoch)
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        losses = []
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            xb = _augment(x_train[idx].to(device), cfg, gen)
            yb = y_t[idx].to(device)
            sb = (
                None if sigma_t is None else sigma_t[torch.randint(len(sigma_t), (len(idx),), generator=gen)].to(device)
            )
            logits = _forward(model, xb, sb, gen)
            if criterion is not None:
                loss = criterion(logits, yb, weight=cb_weights if drw else None)
            else:
                loss = F.cross_entropy(logits, yb)
            if teacher_t is not None:
                loss = distill_alpha * loss + (1 - distill_alpha) * distillation_mse(model, logits, teacher_t[idx])
            if not torch.isfinite(loss):
                raise LatentgapError(
                    f"{desc}: non-finite training loss at epoch {epoch}; the inputs hold extreme "
                    "values or the learning rate is too high: check the autoencoder's latents"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            progress.report((epoch + (i + len(idx)) / len(order)) / cfg.epochs, f"epoch {epoch + 1}/{cfg.epochs}")
        val_bacc = balanced_accuracy_score(y_val, predict_logits(model, x_val, device).argmax(1))
        history.append(
            dict(epoch=epoch, lr=lr_at(cfg, epoch), loss=float(np.mean(losses)), val_balanced_accuracy=float(val_bacc))
        )
        bar.set_postfix(loss=f"{np.mean(losses):.3f}", val_bacc=f"{val_bacc:.3f}")
        score = smoothed([h["val_balanced_accuracy"] for h in history], cfg.val_ema)[-1]  # the selection criterion
        if score > best:
            best, best_state, best_epoch, since_best = score, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            since_best += 1
        if epoch + 1 == cfg.drw_epoch:
            since_best = 0  # patience counts afresh once the learning rate has dropped (the paper)
        if since_best >= cfg.patience and epoch >= cfg.drw_epoch:
            break
    model.load_state_dict(best_state)
    return model, dict(
        epochs_run=len(history),
        best_epoch=best_epoch,
        best_val_balanced_accuracy=history[best_epoch]["val_balanced_accuracy"],  # raw, at the selected epoch
        converged=converged(history, cfg.epochs, cfg.val_ema),
        history=history,
    )


PLATEAU_TOL = 0.01  # validation balanced accuracy: gains below it are noise (its s.e. on ~500 images is ~0.02)


def converged(history: list[dict], budget: int, ema: float = 0.0, window: int = 3) -> bool:
    """False when the (EMA-smoothed) validation score still rose by more than `PLATEAU_TOL` in the last 15 % of the
    epoch budget, or when training ran the whole budget with the training loss still falling (its mean over the last
    `window` epochs > 1 % below the `window` before). The first clause reads the plateau, not the argmax: under a
    cosine schedule the best epoch of a flat curve often falls late by a hair."""
    scores = smoothed([h["val_balanced_accuracy"] for h in history], ema)
    plateau_epoch = next(i for i, s in enumerate(scores) if s >= max(scores) - PLATEAU_TOL)
    if plateau_epoch >= 0.85 * budget:
        return False
    losses = [h["loss"] for h in history]
    if len(history) >= budget and len(losses) >= 2 * window:
        last, before = np.mean(losses[-window:]), np.mean(losses[-2 * window : -window])
        return bool(last >= before - 0.01 * abs(before))
    return True
