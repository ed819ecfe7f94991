"""Classifier backbones written in plain torch (torchvision does not install beside the CPU torch here).

- `ResNet`: He et al. 2016. `ResNet.resnet50()` is the paper's image/reconstruction model; smaller depths
  and widths give the quick profile's model. Input (N, C, H, W), any C.
- `ConvNeXt`: Liu et al. 2022. `ConvNeXt.tiny()` is the paper's latent model; its stem takes the latent
  channels. Input (N, C_latent, h, w). With `film=True` it is noise-conditioned: σ is embedded as in EDM2
  (Karras et al. 2024: c_noise = ln σ / 4, Fourier features, two magnitude-preserving linear layers with
  SiLU) and a zero-initialised FiLM layer after each stage gives per-channel (scale, shift).
Both end in a cosine ("normed") head when used with LDAM (Cao et al. 2019), a plain linear head otherwise.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class NormedLinear(nn.Module):
    """Cosine-similarity head of LDAM (Cao et al. 2019): logits = scale * cos(feature, class weight)."""

    def __init__(self, d_in: int, d_out: int, scale: float = 30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_out, d_in).uniform_(-1, 1).renorm_(2, 0, 1e-5).mul_(1e5))
        self.scale = scale

    def forward(self, x):
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).t()


def make_head(d_in: int, n_classes: int, normed: bool) -> nn.Module:
    return NormedLinear(d_in, n_classes) if normed else nn.Linear(d_in, n_classes)


# --- ResNet -------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        c_out = width * self.expansion
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        nn.init.zeros_(self.body[-1].weight)  # zero-init last BN: each block starts as identity
        self.skip = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x):
        return F.relu(self.body(x) + self.skip(x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        nn.init.zeros_(self.body[-1].weight)
        self.skip = (
            nn.Identity()
            if stride == 1 and c_in == width
            else nn.Sequential(nn.Conv2d(c_in, width, 1, stride, bias=False), nn.BatchNorm2d(width))
        )

    def forward(self, x):
        return F.relu(self.body(x) + self.skip(x))


class ResNet(nn.Module):
    """ResNet with a 7x7/2 conv + 3x3/2 max-pool stem (4x down; `small_input`: a 3x3/1 stem) and four stages
    (x1, x2, x2, x2)."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        layers=(3, 4, 6, 3),
        width: int = 64,
        block: str = "bottleneck",
        normed_head: bool = False,
        small_input: bool = False,
    ):
        super().__init__()
        block_cls = Bottleneck if block == "bottleneck" else BasicBlock
        if small_input:  # a latent grid (8x8 at 64 px): a 3x3 stride-1 stem, no max-pool, so stage 1 sees the grid
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
            )
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1),
            )
        stages, c = [], width
        for i, n in enumerate(layers):
            w = width * 2**i
            blocks = []
            for j in range(n):
                blocks.append(block_cls(c, w, 2 if (j == 0 and i > 0) else 1))
                c = w * block_cls.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = make_head(c, n_classes, normed_head)
        self.feature_dim = c

    @classmethod
    def resnet50(cls, in_channels: int, n_classes: int, normed_head: bool = False) -> ResNet:
        return cls(in_channels, n_classes, (3, 4, 6, 3), 64, "bottleneck", normed_head)

    def features(self, x):
        """(N, C, H, W) -> pooled features (N, feature_dim)."""
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x):
        return self.head(self.features(x))


# --- noise conditioning (EDM2 magnitude-preserving layers; written by hand: no library ships them) ---------
def mp_silu(x):
    return F.silu(x) / 0.596  # keeps unit magnitude for unit-variance input (EDM2, eq. 81)


class MPFourier(nn.Module):
    """Random Fourier features with unit magnitude: (N,) -> (N, dim)."""

    def __init__(self, dim: int, bandwidth: float = 1.0):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.register_buffer("freqs", 2 * torch.pi * torch.randn(dim, generator=g) * bandwidth)
        self.register_buffer("phases", 2 * torch.pi * torch.rand(dim, generator=g))

    def forward(self, x):
        return torch.cos(x.float()[:, None] * self.freqs + self.phases) * 2**0.5


class MPLinear(nn.Module):
    """Magnitude-preserving linear layer (EDM2 MPConv): unit-norm weight rows, so unit-variance input keeps
    unit variance. EDM2's forced re-normalisation of the stored weights is left out (a training nicety)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in))

    def forward(self, x):
        return x @ F.normalize(self.weight, dim=1).t()


class NoiseEmbedding(nn.Module):
    """σ (N,) -> embedding (N, dim): c_noise = ln(σ)/4 -> Fourier(256) -> MPLinear -> SiLU -> MPLinear."""

    def __init__(self, dim: int, fourier_dim: int = 256):
        super().__init__()
        self.fourier = MPFourier(fourier_dim)
        self.l1, self.l2 = MPLinear(fourier_dim, dim), MPLinear(dim, dim)

    def forward(self, sigma):
        return self.l2(mp_silu(self.l1(self.fourier(torch.log(sigma) / 4))))


class FiLM(nn.Module):
    """x <- x·(1 + scale) + shift, per channel, from the σ embedding (N, emb_dim) as it is (the authors apply no
    activation before the projection); zero-initialised so training starts unconditioned."""

    def __init__(self, emb_dim: int, channels: int):
        super().__init__()
        self.proj = nn.Linear(emb_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x, emb):
        scale, shift = self.proj(emb).chunk(2, dim=1)  # on the raw embedding, as the authors' code
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


# --- ConvNeXt -----------------------------------------------------------------------------------------
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an (N, C, H, W) tensor."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, drop_path: float, layer_scale: float = 1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma = nn.Parameter(layer_scale * torch.ones(dim))
        self.drop_path = drop_path

    def forward(self, x):
        y = self.mlp(self.norm(self.dwconv(x).permute(0, 2, 3, 1))) * self.gamma
        if self.training and self.drop_path > 0:  # stochastic depth, per sample
            keep = torch.rand(x.shape[0], 1, 1, 1, device=x.device) >= self.drop_path
            y = y * keep / (1 - self.drop_path)
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """ConvNeXt; the stem is a `stem_stride` x `stem_stride` patchify conv over the input channels."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        depths=(3, 3, 9, 3),
        dims=(96, 192, 384, 768),
        stem_stride: int = 4,
        drop_path: float = 0.1,
        normed_head: bool = False,
        film: bool = False,
        emb_dim: int = 256,
        layer_scale: float = 1e-6,  # initial block gamma (ConvNeXt's 1e-6; larger lets short trainings use the blocks)
    ):
        super().__init__()
        k = max(stem_stride, 1)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, dims[0], k, k), LayerNorm2d(dims[0]))
        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        self.downsample = nn.ModuleList(
            [nn.Identity()]
            + [nn.Sequential(LayerNorm2d(dims[i]), nn.Conv2d(dims[i], dims[i + 1], 2, 2)) for i in range(3)]
        )
        self.stages = nn.ModuleList()
        for i, d in enumerate(depths):
            start = sum(depths[:i])
            self.stages.append(
                nn.Sequential(*[ConvNeXtBlock(dims[i], rates[start + j], layer_scale) for j in range(d)])
            )
        self.norm = nn.LayerNorm(dims[-1])
        self.head = make_head(dims[-1], n_classes, normed_head)
        self.feature_dim = dims[-1]
        self.noise_embedding = NoiseEmbedding(emb_dim) if film else None
        self.films = nn.ModuleList([FiLM(emb_dim, d) for d in dims]) if film else None

    @classmethod
    def tiny(
        cls, in_channels: int, n_classes: int, stem_stride: int = 4, normed_head: bool = False, film: bool = False
    ) -> ConvNeXt:
        return cls(in_channels, n_classes, (3, 3, 9, 3), (96, 192, 384, 768), stem_stride, 0.1, normed_head, film)

    def features(self, x, sigma=None):
        """(N, C, h, w) [+ σ (N,) when noise-conditioned] -> pooled, normalised features (N, feature_dim)."""
        emb = self.noise_embedding(sigma) if self.films is not None else None
        x = self.stem(x)
        for i, (down, stage) in enumerate(zip(self.downsample, self.stages)):
            if i and x.shape[-1] < 2:  # deep-compression latents (f32: 2x2 at 64 px) run out of pixels to halve
                x = F.pad(x, (0, 1, 0, 1), mode="replicate")
            x = stage(down(x))
            if emb is not None:
                x = self.films[i](x, emb)
        return self.norm(x.mean(dim=(2, 3)))

    def forward(self, x, sigma=None):
        return self.head(self.features(x, sigma))
