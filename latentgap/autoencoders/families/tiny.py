"""Tiny autoencoders (TAESD for SD/SDXL, TAEF1 for FLUX.1; diffusers' `AutoencoderTiny`): a deterministic latent
from a small convolutional encoder. A single file loads at the full-size config."""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class TinyFamily(Family):
    def encode(self, model, x, vq_latent=None):
        return model.encode(x).latents

    def factor(self, config: dict) -> int:
        blocks = config.get("encoder_block_out_channels")
        return 2 ** (len(blocks) - 1) if blocks else self.downsampling_factor

    def recognizes(self, shapes) -> bool:
        return any(k.startswith("encoder.layers.") for k in shapes)

    def tiny_config(self) -> dict:
        return dict(
            encoder_block_out_channels=[4, 4],
            decoder_block_out_channels=[4, 4],
            num_encoder_blocks=[1, 1],
            num_decoder_blocks=[1, 1],
            latent_channels=4,
        )


register(
    TinyFamily(
        name="taesd",
        model_class="diffusers.AutoencoderTiny",
        in_channels=3,
        latent_channels=4,
        downsampling_factor=8,
        description="tiny AE (TAESD for SD/SDXL: 4 channels; TAEF1 for FLUX.1: 16 channels)",
        hub_ids=("madebyollin/taesd", "madebyollin/taesdxl", "madebyollin/taef1"),
        detection_order=50,
    )
)
