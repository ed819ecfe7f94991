"""Which family a state dict belongs to, from key names and tensor shapes alone (no config, no hub).

One rule per family, tried in order (most specific first). Families that share an architecture (SD vs
SDXL, FLUX.1 vs SD3) cannot be told apart from weights: the rule names the usual one and the detection
lists the alternatives, which the user picks with `--family`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from latentgap.autoencoders.families import FAMILIES, Family
from latentgap.errors import LatentgapError

Shapes = dict[str, tuple[int, ...]]

LDM_MARK = "encoder.down.0.block.0.conv1.weight"  # CompVis / LDM key layout
DIFFUSERS_MARK = "encoder.down_blocks.0.resnets.0.conv1.weight"  # diffusers key layout


def key_layout(shapes: Shapes) -> str:
    return "ldm" if LDM_MARK in shapes else "diffusers"


def kl_latent_channels(shapes: Shapes) -> int | None:
    """Latent channels of an LDM-style KL encoder: conv_out emits mean and log-variance."""
    w = shapes.get("encoder.conv_out.weight")
    return w[0] // 2 if w and (LDM_MARK in shapes or DIFFUSERS_MARK in shapes) else None


def _medvae(shapes: Shapes) -> bool:
    from latentgap.autoencoders.medvae import looks_like_medvae

    return looks_like_medvae(set(shapes), shapes)


RULES: dict[str, Callable[[Shapes], bool]] = {
    "vq": lambda s: "quantize.embedding.weight" in s,
    "flux2-vae": lambda s: "bn.running_mean" in s,
    "medvae": _medvae,
    "dc-ae": lambda s: (
        "encoder.conv_in.weight" in s and any(re.match(r"encoder\.down_blocks\.\d+\.\d+\.", k) for k in s)
    ),
    "taesd": lambda s: any(k.startswith("encoder.layers.") for k in s),
    "flux1-vae": lambda s: kl_latent_channels(s) == 16 and "quant_conv.weight" not in s,
    "sd-vae": lambda s: kl_latent_channels(s) == 4,
}
assert set(RULES) <= set(FAMILIES)


@dataclass(frozen=True)
class Detection:
    family: Family
    layout: str  # "diffusers" | "ldm"
    alternatives: tuple[str, ...]  # families with the same architecture (pick one with --family)


def detect(shapes: Shapes, override: str | None = None) -> Detection:
    """Family and key layout of a (prefix-stripped) state dict; `override` forces the family."""
    from latentgap.autoencoders.families import get_family

    layout = key_layout(shapes)
    if override:
        return Detection(get_family(override), layout, ())
    for name, rule in RULES.items():
        if rule(shapes):
            fam = FAMILIES[name]
            return Detection(fam, layout, fam.shares_architecture_with)
    found = sorted({".".join(k.split(".")[:2]) for k in shapes})[:12]
    raise LatentgapError(
        f"no known autoencoder layout: found keys like {', '.join(found) or '(none)'}; tried families "
        f"{', '.join(RULES)} (KL latent channels: {kl_latent_channels(shapes)}). If it is one of "
        f"{', '.join(FAMILIES)}, pass --family NAME, or give a diffusers folder with config.json"
    )
