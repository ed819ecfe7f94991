"""KL-f8 autoencoders in diffusers' `AutoencoderKL` (Rombach et al. 2022): one class, four registrations.

SD 1.x/2.x and SDXL share an architecture (4 latent channels), as do FLUX.1 and SD3 (16, no quant convs): weights
cannot tell them apart, so the first of each pair is detected and lists the other; a config.json tells them apart
by its scaling/shift (`config_marks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families._ldm import (
    convert_ldm_keys,
    kl_latent_channels,
    shape_config,
    shapes_of,
)
from latentgap.autoencoders.families.base import Family, kl_training_loss
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class KLFamily(Family):
    """Latent = posterior mode of a diagonal Gaussian; detected by the KL latent width (and the quant convs)."""

    has_quant_conv: bool = True  # False: detection also requires the 1x1 quant convs to be absent (FLUX.1/SD3)

    def recognizes(self, shapes) -> bool:
        if self.detection_order is None:
            return False
        return kl_latent_channels(shapes) == self.latent_channels and (
            self.has_quant_conv or "quant_conv.weight" not in shapes
        )

    def recognizes_config(self, config: dict) -> bool:
        return super().recognizes_config(config) and config.get("latent_channels") == self.latent_channels

    def infer_config(self, detection, sd: dict, metadata: dict) -> dict:
        """Widths, depth and latent channels from the shapes, on top of the family's template."""
        if "config" in metadata:
            return super().infer_config(detection, sd, metadata)
        shapes = shapes_of(sd)
        config = shape_config(self.config_template(), shapes, detection.layout)
        config.update(latent_channels=kl_latent_channels(shapes))
        config.update(
            use_quant_conv="quant_conv.weight" in shapes, use_post_quant_conv="post_quant_conv.weight" in shapes
        )
        return config

    def convert_keys(self, sd: dict, layout: str, config: dict) -> dict:
        return convert_ldm_keys(sd, layout, config)

    def tiny_config(self) -> dict:
        return dict(
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2,
            block_out_channels=[4, 4],
            layers_per_block=1,
            norm_num_groups=4,
            latent_channels=self.latent_channels,
            use_quant_conv=self.has_quant_conv,
            use_post_quant_conv=self.has_quant_conv,
            scaling_factor=self.scaling_factor,
            shift_factor=self.shift_factor,
        )

    def training_loss(self, model, x, recipe):
        return kl_training_loss(model, x, recipe)


_KL = dict(model_class="diffusers.AutoencoderKL", in_channels=3, downsampling_factor=8)

register(
    KLFamily(
        name="sd-vae",
        **_KL,
        latent_channels=4,
        scaling_factor=0.18215,
        description="KL-f8, 4 latent channels (Stable Diffusion 1.x/2.x)",
        hub_ids=("stabilityai/sd-vae-ft-mse", "CompVis/stable-diffusion-v1-4"),
        paper_name="SD 1.4",
        shares_architecture_with=("sdxl-vae",),
        detection_order=70,
    )
)
register(
    KLFamily(
        name="sdxl-vae",
        **_KL,
        latent_channels=4,
        scaling_factor=0.13025,
        description="KL-f8, 4 latent channels (Stable Diffusion XL)",
        hub_ids=("stabilityai/sdxl-vae",),
        shares_architecture_with=("sd-vae",),
        config_marks=(("scaling_factor", 0.13025),),
    )
)
register(
    KLFamily(
        name="flux1-vae",
        **_KL,
        latent_channels=16,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        description="KL-f8, 16 latent channels, no quant convs (FLUX.1)",
        hub_ids=("black-forest-labs/FLUX.1-dev",),
        paper_name="FLUX.1-dev",
        shares_architecture_with=("sd3-vae",),
        detection_order=60,
        has_quant_conv=False,
    )
)
register(
    KLFamily(
        name="sd3-vae",
        **_KL,
        latent_channels=16,
        scaling_factor=1.5305,
        shift_factor=0.0609,
        description="KL-f8, 16 latent channels, no quant convs (Stable Diffusion 3)",
        hub_ids=("stabilityai/stable-diffusion-3-medium-diffusers",),
        shares_architecture_with=("flux1-vae",),
        has_quant_conv=False,
        config_marks=(("use_quant_conv", False), ("shift_factor", 0.0609)),
    )
)
