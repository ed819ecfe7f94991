"""Control "autoencoders" with known answers, built from code (no weights): what every gap is read against.

- `null-s2d`: latent = pixel_unshuffle(x, f) (N, C·f², H/f, W/f), reconstruction = pixel_shuffle: lossless, so its
  matched gap must be ≈ 0; `null-s2d-rot` adds a fixed seeded orthogonal 1x1 channel mix (linear, invertible);
  `null-s2d-flow` a fixed seeded invertible 1x1 conv (orthogonal x positive diagonal) and asinh(2z)/2, an invertible
  elementwise non-linearity (a one-layer flow: non-linear but lossless).
- `blur`: latent = f x f average pool, reconstruction = nearest upsample: a positive control for fidelity loss.
Written by hand: these are two lines of torch each, no library ships them as autoencoders.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.registry import register


class SpaceToDepth(nn.Module):
    """The null controls; `mix` is "none", "rotation" or "flow" (see the module docstring)."""

    def __init__(self, factor: int = 8, in_channels: int = 3, mix: str = "none", seed: int = 0):
        super().__init__()
        assert mix in ("none", "rotation", "flow"), mix
        self.config = dict(factor=factor, in_channels=in_channels, mix=mix, seed=seed)
        self.factor, self.mix = factor, mix
        c = in_channels * factor**2
        g = torch.Generator().manual_seed(seed)
        q, r = torch.linalg.qr(torch.randn(c, c, generator=g, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))  # a uniformly random orthogonal matrix
        if mix == "flow":
            q = q * torch.exp(torch.empty(c, dtype=torch.float64).uniform_(-0.5, 0.5, generator=g))[None, :]
        matrix = q if mix != "none" else torch.eye(c, dtype=torch.float64)
        self.register_buffer("matrix", matrix.float())
        self.register_buffer("inverse", torch.linalg.inv(matrix).float())

    def encode(self, x):
        z = F.pixel_unshuffle(x, self.factor)
        if self.mix != "none":
            z = torch.einsum("oc,nchw->nohw", self.matrix, z)
        return torch.asinh(2 * z) / 2 if self.mix == "flow" else z

    def decode(self, z):
        if self.mix == "flow":
            z = torch.sinh(2 * z) / 2
        if self.mix != "none":
            z = torch.einsum("oc,nchw->nohw", self.inverse, z)
        return F.pixel_shuffle(z, self.factor)


class Blur(nn.Module):
    """The fidelity control: f x f average pool down, nearest upsample back."""

    def __init__(self, factor: int = 8, in_channels: int = 3):
        super().__init__()
        self.config = dict(factor=factor, in_channels=in_channels)
        self.factor = factor

    def encode(self, x):
        return F.avg_pool2d(x, self.factor)

    def decode(self, z):
        return F.interpolate(z, scale_factor=self.factor, mode="nearest")


@dataclass(frozen=True, kw_only=True)
class ControlFamily(Family):
    defaults: tuple[tuple[str, object], ...] = ()
    weightless: bool = True
    intake: str = "code"

    def encode(self, model, x, vq_latent=None):
        return model.encode(x)

    def decode(self, model, z):
        return model.decode(z)

    def factor(self, config: dict) -> int:
        return int(config["factor"])

    def config_template(self) -> dict:
        return dict(self.defaults)

    def build_model(self, config: dict):
        kwargs = {
            k: v
            for k, v in {**dict(self.defaults), **config}.items()
            if not k.startswith("_") and k != "latent_channels"  # latent_channels follows from the others
        }
        return (Blur(**kwargs) if self.name == "blur" else SpaceToDepth(**kwargs)).eval()

    def weights_hash(self, config: dict) -> str:
        """Content identity of a code-built model: its family and settings (keys the latent cache)."""
        text = json.dumps({**dict(self.defaults), **config, "family": self.name}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def config_for_channels(self, config: dict, channels: int) -> dict:
        """The data's own channels: a lossless control stays lossless and its latent holds each pixel once (with
        grayscale repeated to RGB, the latent arm would see every value three times, the s2d arms once)."""
        if channels == int(config["in_channels"]):
            return config
        factor = 1 if self.name == "blur" else int(config["factor"]) ** 2
        return {**config, "in_channels": channels, "latent_channels": channels * factor}

    def tiny_config(self) -> dict:
        return {**dict(self.defaults), "factor": 4}


_COMMON = dict(
    model_class="latentgap.autoencoders.families.controls.SpaceToDepth", in_channels=3, downsampling_factor=8
)
for name, mix, text in (
    ("null-s2d", "none", "lossless null control: pixel-unshuffle (space-to-depth), its gap must be about 0"),
    ("null-s2d-rot", "rotation", "lossless null control: space-to-depth + a fixed orthogonal channel mix"),
    ("null-s2d-flow", "flow", "lossless null control: space-to-depth + an invertible 1x1 conv and asinh (a flow)"),
):
    register(
        ControlFamily(
            name=name,
            latent_channels=3 * 64,
            description=text,
            **_COMMON,
            defaults=(("factor", 8), ("in_channels", 3), ("mix", mix), ("seed", 0)),
        )
    )
register(
    ControlFamily(
        name="blur",
        model_class="latentgap.autoencoders.families.controls.Blur",
        in_channels=3,
        latent_channels=3,
        downsampling_factor=8,
        defaults=(("factor", 8), ("in_channels", 3)),
        description="fidelity control: f x f average pool, nearest upsample (loses detail)",
    )
)
