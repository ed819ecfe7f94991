"""VQ-GAN autoencoders (Esser et al. 2021; LDM VQ-f4/VQ-f8, diffusers' `VQModel`). The latent is taken before the
codebook (default) or after it (`--vq-latent quantized`): both are cached, under different keys."""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families._ldm import convert_ldm_keys, shape_config, shapes_of
from latentgap.autoencoders.families.base import Family, reconstruction_loss
from latentgap.autoencoders.families.registry import register

VQ_LATENTS = ("prequant", "quantized")


@dataclass(frozen=True, kw_only=True)
class VQFamily(Family):
    def encode(self, model, x, vq_latent="prequant"):
        h = model.encode(x).latents  # after quant_conv, before the codebook
        return model.quantize(h)[0] if vq_latent == "quantized" else h

    # decode: the default; VQModel.decode quantises pre-quant latents itself

    def latent_variant(self, vq_latent: str) -> str:
        return f"-{vq_latent}"

    def recognizes(self, shapes) -> bool:
        return "quantize.embedding.weight" in shapes

    def infer_config(self, detection, sd: dict, metadata: dict) -> dict:
        """Widths and depth from the shapes, latent width and codebook size from conv_out and the embedding."""
        if "config" in metadata:
            return super().infer_config(detection, sd, metadata)
        shapes = shapes_of(sd)
        config = shape_config(self.config_template(), shapes, detection.layout)
        emb = shapes["quantize.embedding.weight"]
        config.update(
            latent_channels=shapes["encoder.conv_out.weight"][0], num_vq_embeddings=emb[0], vq_embed_dim=emb[1]
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
            latent_channels=3,
            num_vq_embeddings=16,
            vq_embed_dim=3,
        )

    def training_loss(self, model, x, recipe):
        """Reconstruction through the codebook (straight-through gradients) + the commitment loss (VQ-VAE)."""
        out = model.decode(model.encode(x).latents)  # quantises; straight-through gradients
        return reconstruction_loss(out.sample, x, out.commit_loss.mean(), recipe)


register(
    VQFamily(
        name="vq",
        model_class="diffusers.VQModel",
        in_channels=3,
        latent_channels=3,
        downsampling_factor=4,
        description="VQ-GAN (LDM VQ-f4 / VQ-f8); latent = pre-quantisation (default) or quantised",
        hub_ids=("CompVis/ldm-celebahq-256",),
        detection_order=10,
    )
)
