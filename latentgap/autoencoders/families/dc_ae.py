"""Deep-compression autoencoders (Chen et al. 2025, diffusers' `AutoencoderDC`): f32, 32 latent channels, a
deterministic latent. A single file loads at the full-size config; a different size needs its config.json."""

from __future__ import annotations

import re
from dataclasses import dataclass

from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class DCAEFamily(Family):
    def encode(self, model, x, vq_latent=None):
        return model.encode(x).latent

    def factor(self, config: dict) -> int:
        blocks = config.get("encoder_block_out_channels")
        return 2 ** (len(blocks) - 1) if blocks else self.downsampling_factor

    def recognizes(self, shapes) -> bool:
        return "encoder.conv_in.weight" in shapes and any(
            re.match(r"encoder\.down_blocks\.\d+\.\d+\.", k) for k in shapes
        )

    def tiny_config(self) -> dict:
        blocks = ["ResBlock", "ResBlock", "EfficientViTBlock"]
        return dict(
            latent_channels=4,
            attention_head_dim=4,
            encoder_block_types=blocks,
            decoder_block_types=blocks,
            encoder_block_out_channels=[4, 4, 8],
            decoder_block_out_channels=[4, 4, 8],
            encoder_layers_per_block=[1, 1, 1],
            decoder_layers_per_block=[1, 1, 1],
            encoder_qkv_multiscales=[[], [], [5]],
            decoder_qkv_multiscales=[[], [], [5]],
            decoder_norm_types="rms_norm",
            decoder_act_fns="silu",
        )


register(
    DCAEFamily(
        name="dc-ae",
        model_class="diffusers.AutoencoderDC",
        in_channels=3,
        latent_channels=32,
        downsampling_factor=32,
        scaling_factor=0.3189,
        description="deep-compression AE, f32, 32 latent channels",
        hub_ids=("mit-han-lab/dc-ae-f32c32-in-1.0-diffusers",),
        detection_order=40,
    )
)
