"""Shapes of the LDM-style encoder/decoder that the KL, FLUX.2 and VQ families share (Rombach et al. 2022).

Key layouts (CompVis/LDM vs diffusers), the KL latent width, a config read from a state dict's shapes on top of
the family's template, and the LDM -> diffusers key conversion (diffusers' own converter).
"""

from __future__ import annotations

import re

Shapes = dict[str, tuple[int, ...]]

LDM_MARK = "encoder.down.0.block.0.conv1.weight"  # CompVis / LDM key layout
DIFFUSERS_MARK = "encoder.down_blocks.0.resnets.0.conv1.weight"  # diffusers key layout


def key_layout(shapes: Shapes) -> str:
    return "ldm" if LDM_MARK in shapes else "diffusers"


def kl_latent_channels(shapes: Shapes) -> int | None:
    """Latent channels of an LDM-style KL encoder: conv_out emits mean and log-variance."""
    w = shapes.get("encoder.conv_out.weight")
    return w[0] // 2 if w and (LDM_MARK in shapes or DIFFUSERS_MARK in shapes) else None


def _count(shapes: Shapes, pattern: str) -> int:
    return len({m.group(1) for k in shapes if (m := re.match(pattern, k))})


def shape_config(config: dict, shapes: Shapes, layout: str) -> dict:
    """`config` (the family's template) updated with the widths, depth, channels and attention the shapes show."""
    ldm = layout == "ldm"
    block = (
        (r"encoder\.down\.(\d+)\.block\.0\.conv1\.weight", "encoder.down.{}.block.0.conv1.weight")
        if ldm
        else (
            r"encoder\.down_blocks\.(\d+)\.resnets\.0\.conv1\.weight",
            "encoder.down_blocks.{}.resnets.0.conv1.weight",
        )
    )
    n_blocks = _count(shapes, block[0])
    channels = [shapes[block[1].format(i)][0] for i in range(n_blocks)]
    per_block = r"encoder\.down\.0\.block\.(\d+)\.conv1" if ldm else r"encoder\.down_blocks\.0\.resnets\.(\d+)\.conv1"
    attn = "encoder.mid.attn_1.q.weight" if ldm else "encoder.mid_block.attentions.0.to_q.weight"
    groups = config.get("norm_num_groups", 32)
    if any(c % groups for c in channels):  # GroupNorm groups are not in the weights: the largest that fits
        groups = next(g for g in (32, 16, 8, 4, 2, 1) if all(c % g == 0 for c in channels))
    config.update(
        block_out_channels=channels,
        layers_per_block=_count(shapes, per_block),
        down_block_types=["DownEncoderBlock2D"] * n_blocks,
        up_block_types=["UpDecoderBlock2D"] * n_blocks,
        in_channels=shapes["encoder.conv_in.weight"][1],
        out_channels=shapes["decoder.conv_out.weight"][0],
        norm_num_groups=groups,
        mid_block_add_attention=attn in shapes,
    )
    return config


def convert_ldm_keys(sd: dict, layout: str, config: dict) -> dict:
    """LDM-layout KL/VQ weights -> diffusers names (diffusers' own converter); diffusers layout passes through."""
    if layout != "ldm":
        return sd
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    converted = convert_ldm_vae_checkpoint(sd, config)
    for key in ("quantize.embedding.weight", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"):
        if key in sd:  # not part of the KL mapping
            converted[key] = sd[key]
    return converted


def shapes_of(sd: dict) -> Shapes:
    return {k: tuple(v.shape) for k, v in sd.items()}
