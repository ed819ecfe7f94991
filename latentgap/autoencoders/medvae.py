"""MedVAE 2D autoencoders (Varma et al. 2025), re-implemented in plain torch as a diffusers model.

Our own code, written after reading the public MedVAE sources (StanfordMIMI/MedVAE and its fork
yonatanu/MedVAE, which hold the same 2D code); nothing is copied. What we took from them:

- `medvae/models/autoencoder_kl.py`: the 2D `AutoencoderKL` = LDM encoder/decoder + `quant_conv` (2z -> 2E, 1x1)
  + `post_quant_conv` (E -> z, 1x1) + a "channel projection" head (`apply_channel_ds=True` by default, so every
  2D checkpoint has it): `channel_ds` = Sequential(1x1 E->64, ReLU, 3x3 64->64, ReLU, 1x1 64->E) and
  `channel_proj` (1x1 E->E). `MVAE.forward` (`medvae/medvae_main.py`) returns
  `channel_proj(channel_ds(z) + z)` with `z = posterior.sample()`; stage-2 training (`medvae_finetune_s2.py`)
  fits only that head with a BiomedCLIP consistency loss. `decode` takes the *unprojected* z.
- `medvae/utils/vae/diffusionmodels.py`: the CompVis LDM Encoder/Decoder (GroupNorm(32, eps 1e-6) + swish
  ResnetBlocks with `nin_shortcut`, single-head AttnBlock with 1x1 q/k/v/proj_out, Downsample = pad (0,1,0,1)
  then 3x3 stride-2 conv, Upsample = nearest x2 then 3x3 conv, `mid.block_1/attn_1/block_2`, decoder levels with
  num_res_blocks + 1 blocks stored in `up[level]` order); double_z is asserted, no timestep embedding.
- `medvae/utils/factory.py` + `medvae/utils/lora.py`: medvae_4_3_2d and medvae_8_4_2d are built, then LoRA (r=4)
  is injected into *every* conv inside ResnetBlock/AttnBlock before the checkpoint is loaded, so their keys read
  `...conv1.conv.weight`, `...conv1.lora_down.weight` (same kernel as the conv, no bias), `...conv1.lora_up.weight`
  (1x1, no bias); output = conv(x) + lora_up(lora_down(x)) * 1.0 (dropout p=0.1 is train-only: omitted here).
- Checkpoints: official `model_weights/vae_*_2D.ckpt` (HF stanfordmimi/MedVAE) are Lightning dicts read as
  `torch.load(path)["state_dict"]` with plain keys (`encoder.down.0.block.0.norm1.weight`, ...) and loaded with
  strict=False, so they may also hold LDM training-only keys (`loss.*` discriminator/LPIPS, `model_ema.*`); fine-
  tuned weights come from `accelerate.save_state` (plain keys); wrappers add `model.` (MVAE), `module.` (DDP).
- Configs: `configs/ours-8x1-new.yaml` (fork) = the 8x1 ddconfig (ch 128, ch_mult 1,2,4,4, 2 res blocks, z=E=1,
  in=out=1, no attention, resolution 512); `documentation/test_finetuned_vae.ipynb` (fork) prints a 4x4 model
  (ch 128, ch_mult 1,2,4, 2 res blocks, z=E=4, head width 64, no attention).

Uncertain (the `model_weights/medvae_*.yaml` files live on the HF hub, not in the indexed repos): z/E and ch_mult
of 4x1 (assumed like 8x1 with f4), in_channels of 4x4 (1 assumed; the fork overrides it), and the LoRA variants
being LDM kl-f4 (ch_mult 1,2,4, z=E=3) / kl-f8 (1,2,4,4, z=E=4) with 3 input channels. `config_from_state_dict`
reads all of this from tensor shapes, so real checkpoints do not depend on these guesses.

Latent semantics here: `encode(x).latent_dist.mode()` is the posterior mean, the latent `decode` consumes (what a
latent diffusion model is trained on). `project(z)` gives the BiomedCLIP-aligned latent that `MVAE(img)` returns
for downstream classifiers; it cannot be decoded.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from diffusers.models.autoencoders.vae import DecoderOutput, DiagonalGaussianDistribution
from diffusers.models.modeling_outputs import AutoencoderKLOutput
from torch import nn

MODULE_ROOTS = ("encoder", "decoder", "quant_conv", "post_quant_conv", "channel_ds", "channel_proj")
_ANCHOR = "encoder.conv_in.weight"
_WRAPPERS = ("state_dict", "model", "module", "autoencoder", "vae", "first_stage_model")

_BASE = dict(
    ch=128, num_res_blocks=2, attn_resolutions=(), norm_num_groups=32, channel_projection=True, projection_hidden=64
)
MEDVAE_VARIANTS: dict[str, dict] = {
    "medvae_4_1_2d": dict(
        _BASE,
        in_channels=1,
        out_channels=1,
        ch_mult=(1, 2, 4),
        z_channels=1,
        latent_channels=1,
        resolution=512,
        lora_rank=0,
    ),
    "medvae_4_3_2d": dict(
        _BASE,
        in_channels=3,
        out_channels=3,
        ch_mult=(1, 2, 4),
        z_channels=3,
        latent_channels=3,
        resolution=256,
        lora_rank=4,
    ),
    "medvae_4_4_2d": dict(
        _BASE,
        in_channels=1,
        out_channels=1,
        ch_mult=(1, 2, 4),
        z_channels=4,
        latent_channels=4,
        resolution=512,
        lora_rank=0,
    ),
    "medvae_8_1_2d": dict(
        _BASE,
        in_channels=1,
        out_channels=1,
        ch_mult=(1, 2, 4, 4),
        z_channels=1,
        latent_channels=1,
        resolution=512,
        lora_rank=0,
    ),
    "medvae_8_4_2d": dict(
        _BASE,
        in_channels=3,
        out_channels=3,
        ch_mult=(1, 2, 4, 4),
        z_channels=4,
        latent_channels=4,
        resolution=256,
        lora_rank=4,
    ),
}


class LoraConv2d(nn.Module):
    """Conv2d plus a rank-r bypass, keyed like MedVAE's injected LoRA conv (`conv`, `lora_down`, `lora_up`)."""

    def __init__(self, cin: int, cout: int, k: int, rank: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2)
        self.lora_down = nn.Conv2d(cin, rank, k, padding=k // 2, bias=False)
        self.lora_up = nn.Conv2d(rank, cout, 1, bias=False)
        nn.init.zeros_(self.lora_up.weight)  # a fresh LoRA is the identity edit

    def forward(self, x):
        return self.conv(x) + self.lora_up(self.lora_down(x))


def _conv(cin: int, cout: int, k: int, rank: int = 0) -> nn.Module:
    """'Same'-padded k x k conv; LoRA-wrapped when rank > 0 (MedVAE does that only inside res/attn blocks)."""
    return LoraConv2d(cin, cout, k, rank) if rank else nn.Conv2d(cin, cout, k, padding=k // 2)


def _norm(c: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(groups, c, eps=1e-6)


class ResnetBlock(nn.Module):
    """(N, cin, H, W) -> (N, cout, H, W): two norm-swish-conv3x3 steps plus a (1x1 if needed) shortcut."""

    def __init__(self, cin: int, cout: int, groups: int, rank: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin, groups), _conv(cin, cout, 3, rank)
        self.norm2, self.conv2 = _norm(cout, groups), _conv(cout, cout, 3, rank)
        self.nin_shortcut = _conv(cin, cout, 1, rank) if cin != cout else None

    def forward(self, x):
        h = self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention, residual: (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, c: int, groups: int, rank: int):
        super().__init__()
        self.norm = _norm(c, groups)
        self.q, self.k, self.v, self.proj_out = (_conv(c, c, 1, rank) for _ in range(4))

    def forward(self, x):
        n, c, h, w = x.shape
        y = self.norm(x)
        q, k, v = (m(y).reshape(n, 1, c, h * w).transpose(-1, -2) for m in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(c)) v: (N, 1, HW, C)
        return x + self.proj_out(out.transpose(-1, -2).reshape(n, c, h, w))


class Downsample(nn.Module):
    """(N, C, H, W) -> (N, C, H/2, W/2): zero-pad right/bottom by 1, then 3x3 stride-2 conv."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """(N, C, H, W) -> (N, C, 2H, 2W): nearest-neighbour x2, then 3x3 conv."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _level(blocks: list, attn: list, resample: nn.Module | None, name: str) -> nn.Module:
    level = nn.Module()
    level.block, level.attn = nn.ModuleList(blocks), nn.ModuleList(attn)
    if resample is not None:
        setattr(level, name, resample)
    return level


def _mid(c: int, groups: int, rank: int) -> nn.Module:
    mid = nn.Module()
    mid.block_1, mid.attn_1 = ResnetBlock(c, c, groups, rank), AttnBlock(c, groups, rank)
    mid.block_2 = ResnetBlock(c, c, groups, rank)
    return mid


def _run_level(level: nn.Module, h):
    for i, block in enumerate(level.block):
        h = block(h)
        h = level.attn[i](h) if len(level.attn) else h
    return h


class Encoder(nn.Module):
    """(N, cin, H, W) -> (N, cout, H/f, W/f), f = 2 ** (len(ch_mult) - 1); cout = 2 * z_channels (mean, logvar)."""

    def __init__(self, cin, cout, ch, ch_mult, num_res_blocks, attn_levels, groups, rank):
        super().__init__()
        self.conv_in = nn.Conv2d(cin, ch, 3, padding=1)
        widths, self.down = [ch] + [ch * m for m in ch_mult], nn.ModuleList()
        for i in range(len(ch_mult)):
            blocks = [ResnetBlock(widths[i + (j > 0)], widths[i + 1], groups, rank) for j in range(num_res_blocks)]
            attn = [AttnBlock(widths[i + 1], groups, rank) for _ in blocks] if i in attn_levels else []
            down = Downsample(widths[i + 1]) if i < len(ch_mult) - 1 else None
            self.down.append(_level(blocks, attn, down, "downsample"))
        self.mid = _mid(widths[-1], groups, rank)
        self.norm_out, self.conv_out = _norm(widths[-1], groups), nn.Conv2d(widths[-1], cout, 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            h = _run_level(level, h)
            h = level.downsample(h) if hasattr(level, "downsample") else h
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    """(N, z_channels, h, w) -> (N, cout, h*f, w*f); `up[i]` is level i, run from the deepest level up."""

    def __init__(self, cin, cout, ch, ch_mult, num_res_blocks, attn_levels, groups, rank):
        super().__init__()
        widths = [ch * m for m in ch_mult]
        self.conv_in = nn.Conv2d(cin, widths[-1], 3, padding=1)
        self.mid = _mid(widths[-1], groups, rank)
        levels, c = [], widths[-1]
        for i in reversed(range(len(ch_mult))):
            blocks = [ResnetBlock(c, widths[i], groups, rank)]
            blocks += [ResnetBlock(widths[i], widths[i], groups, rank) for _ in range(num_res_blocks)]
            attn = [AttnBlock(widths[i], groups, rank) for _ in blocks] if i in attn_levels else []
            levels.insert(0, _level(blocks, attn, Upsample(widths[i]) if i > 0 else None, "upsample"))
            c = widths[i]
        self.up = nn.ModuleList(levels)
        self.norm_out, self.conv_out = _norm(widths[0], groups), nn.Conv2d(widths[0], cout, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        for level in reversed(self.up):
            h = _run_level(level, h)
            h = level.upsample(h) if hasattr(level, "upsample") else h
        return self.conv_out(F.silu(self.norm_out(h)))


class MedVAE(ModelMixin, ConfigMixin):
    """MedVAE 2D autoencoder; state-dict keys match the original checkpoints. Defaults = medvae_4_1_2d.

    `latent_channels` is MedVAE's `embed_dim`; `z_channels` the encoder/decoder bottleneck width.
    `attn_resolutions` are feature-map sizes (relative to `resolution`) that get attention after every res block.
    """

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        ch: int = 128,
        ch_mult: tuple = (1, 2, 4),
        num_res_blocks: int = 2,
        z_channels: int = 1,
        latent_channels: int = 1,
        attn_resolutions: tuple = (),
        resolution: int = 512,
        norm_num_groups: int = 32,
        channel_projection: bool = True,
        projection_hidden: int = 64,
        lora_rank: int = 0,
    ):
        super().__init__()
        attn_levels = {i for i in range(len(ch_mult)) if resolution // 2**i in set(attn_resolutions)}
        arch = dict(
            ch=ch,
            ch_mult=tuple(ch_mult),
            num_res_blocks=num_res_blocks,
            attn_levels=attn_levels,
            groups=norm_num_groups,
            rank=lora_rank,
        )
        self.encoder = Encoder(in_channels, 2 * z_channels, **arch)
        self.decoder = Decoder(z_channels, out_channels, **arch)
        self.quant_conv = nn.Conv2d(2 * z_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, z_channels, 1)
        if channel_projection:
            e, hid = latent_channels, projection_hidden
            self.channel_ds = nn.Sequential(
                nn.Conv2d(e, hid, 1), nn.ReLU(), nn.Conv2d(hid, hid, 3, padding=1), nn.ReLU(), nn.Conv2d(hid, e, 1)
            )
            self.channel_proj = nn.Conv2d(e, e, 1)

    @property
    def downsampling_factor(self) -> int:
        return 2 ** (len(self.config.ch_mult) - 1)

    def encode(self, x: torch.Tensor, return_dict: bool = True):
        """x (N, in_channels, H, W) in [-1, 1] -> posterior over (N, latent_channels, H/f, W/f)."""
        dist = DiagonalGaussianDistribution(self.quant_conv(self.encoder(x)))
        return AutoencoderKLOutput(latent_dist=dist) if return_dict else (dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True):
        """z (N, latent_channels, h, w) -> `.sample` (N, out_channels, h*f, w*f) in [-1, 1] space."""
        sample = self.decoder(self.post_quant_conv(z))
        return DecoderOutput(sample=sample) if return_dict else (sample,)

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """BiomedCLIP-aligned latent of MedVAE's stage 2, (N, E, h, w) -> (N, E, h, w); not decodable."""
        if not self.config.channel_projection:
            raise ValueError("this MedVAE has no channel projection head (channel_projection=False)")
        return self.channel_proj(self.channel_ds(z) + z)

    def forward(self, x: torch.Tensor, sample_posterior: bool = False, generator=None, return_dict: bool = True):
        """Reconstruction of x through the posterior mode (or a sample)."""
        dist = self.encode(x).latent_dist
        return self.decode(dist.sample(generator) if sample_posterior else dist.mode(), return_dict)


def _prefix(keys) -> str | None:
    """Shortest wrapper prefix in front of the encoder's first conv ('' for plain keys), None if absent."""
    found = [k[: -len(_ANCHOR)] for k in keys if isinstance(k, str) and k.endswith(_ANCHOR)]
    found = [p for p in found if p == "" or p.endswith(".")]
    return min(found, key=len) if found else None


def strip_prefix(state_dict: dict) -> dict:
    """Plain MedVAE keys from a checkpoint dict: unwraps `state_dict`/`model`/... nesting, strips `model.`,
    `module.`, `first_stage_model.` (any) key prefixes and drops keys that are not autoencoder weights (LDM
    `loss.*` discriminator/LPIPS, `model_ema.*`, optimizer state)."""
    sd = state_dict
    while _prefix(sd.keys()) is None:
        nested = next((sd[k] for k in _WRAPPERS if isinstance(sd.get(k), dict)), None)
        if nested is None:
            raise ValueError(f"no MedVAE/LDM autoencoder weights found (no key ending in {_ANCHOR!r})")
        sd = nested
    p = _prefix(sd.keys())
    out = {k[len(p) :]: v for k, v in sd.items() if k.startswith(p)}
    return {k: v for k, v in out.items() if k.split(".")[0] in MODULE_ROOTS}


def looks_like_medvae(keys: set[str], shapes: dict[str, tuple]) -> bool:
    """True for MedVAE checkpoints: LDM AutoencoderKL layout plus MedVAE's channel projection head (with
    shapes consistent with the latent width) and/or LoRA-injected res/attn convs. A plain Stable-Diffusion LDM VAE
    (or a diffusers-layout AutoencoderKL) has neither."""
    p = _prefix(keys)
    if p is None or p + "quant_conv.weight" not in keys:
        return False
    lora = any(k.startswith((p + "encoder.", p + "decoder.")) and ".lora_down." in k for k in keys)
    quant, proj, ds = (shapes.get(p + n) for n in ("quant_conv.weight", "channel_proj.weight", "channel_ds.0.weight"))
    head = bool(quant and proj and ds) and tuple(proj[:2]) == (quant[0] // 2,) * 2 and ds[1] == quant[0] // 2
    return head or lora


def _weight(sd: dict, name: str) -> torch.Tensor:
    """Weight of a plain or LoRA-wrapped conv."""
    return sd[f"{name}.weight"] if f"{name}.weight" in sd else sd[f"{name}.conv.weight"]


def _indices(sd: dict, pattern: str) -> set[int]:
    return {int(m.group(1)) for k in sd if (m := re.match(pattern, k))}


def _norm_groups(channels: list[int]) -> int:
    # GroupNorm's group count leaves no trace in the weights: take MedVAE's 32 when every normalised width allows
    # it (all real variants), else the largest of 16, 8, 4, 2, 1 dividing them all (tiny/test models).
    return next(g for g in (32, 16, 8, 4, 2, 1) if all(c % g == 0 for c in channels))


def config_from_state_dict(sd: dict) -> dict:
    """MedVAE config kwargs read from tensor shapes of a (wrapped or plain) MedVAE/LDM state dict."""
    sd = strip_prefix(sd)
    ch = int(sd[_ANCHOR].shape[0])
    n_levels = max(_indices(sd, r"encoder\.down\.(\d+)\.")) + 1
    resolution = 256  # only gives attention levels a size; any value with the same levels builds the same model
    attn_levels = sorted(_indices(sd, r"encoder\.down\.(\d+)\.attn\."))
    norms = [int(v.shape[0]) for k, v in sd.items() if re.search(r"norm(1|2|_out)?\.weight$", k)]
    lora = [int(v.shape[0]) for k, v in sd.items() if k.endswith("lora_down.weight")]
    head = "channel_ds.0.weight" in sd and "channel_proj.weight" in sd
    return dict(
        in_channels=int(sd[_ANCHOR].shape[1]),
        out_channels=int(sd["decoder.conv_out.weight"].shape[0]),
        ch=ch,
        ch_mult=tuple(int(_weight(sd, f"encoder.down.{i}.block.0.conv2").shape[0]) // ch for i in range(n_levels)),
        num_res_blocks=len(_indices(sd, r"encoder\.down\.0\.block\.(\d+)\.")),
        z_channels=int(sd["encoder.conv_out.weight"].shape[0]) // 2,
        latent_channels=int(sd["quant_conv.weight"].shape[0]) // 2,
        attn_resolutions=tuple(resolution // 2**i for i in attn_levels),
        resolution=resolution,
        norm_num_groups=_norm_groups(norms),
        channel_projection=head,
        projection_hidden=int(sd["channel_ds.0.weight"].shape[0]) if head else 64,
        lora_rank=lora[0] if lora else 0,
    )
