"""Which family a state dict belongs to, from key names and tensor shapes alone (no config, no hub).

Each family says whether it recognises a state dict (`Family.recognizes`, in the family's own file); they are tried
in detection order (most specific first). Families that share an architecture (SD vs SDXL, FLUX.1 vs SD3) cannot be
told apart from weights: the first is detected and lists the alternatives, which the user picks with `--family`.
"""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families import FAMILIES, Family, get_family, in_detection_order
from latentgap.autoencoders.families._ldm import DIFFUSERS_MARK, LDM_MARK, Shapes, key_layout, kl_latent_channels
from latentgap.errors import LatentgapError

__all__ = ["DIFFUSERS_MARK", "LDM_MARK", "Detection", "Shapes", "detect", "key_layout", "kl_latent_channels"]


@dataclass(frozen=True)
class Detection:
    family: Family
    layout: str  # "diffusers" | "ldm"
    alternatives: tuple[str, ...]  # families with the same architecture (pick one with --family)


def detect(shapes: Shapes, override: str | None = None) -> Detection:
    """Family and key layout of a (prefix-stripped) state dict; `override` forces the family."""
    layout = key_layout(shapes)
    if override:
        return Detection(get_family(override), layout, ())
    for fam in in_detection_order():
        if fam.recognizes(shapes):
            return Detection(fam, layout, fam.shares_architecture_with)
    found = sorted({".".join(k.split(".")[:2]) for k in shapes})[:12]
    raise LatentgapError(
        f"no known autoencoder layout: found keys like {', '.join(found) or '(none)'}; tried families "
        f"{', '.join(f.name for f in in_detection_order())} (KL latent channels: {kl_latent_channels(shapes)}). If it "
        f"is one of {', '.join(FAMILIES)}, pass --family NAME, or give a diffusers folder with config.json"
    )
