"""MedVAE 2D (Varma et al. 2025): an LDM-style KL autoencoder with a channel-projection head, in MedVAE's own key
layout (the model is `latentgap.autoencoders.medvae.MedVAE`); widths come from the checkpoint's shapes."""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families.base import Family, kl_training_loss
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class MedVAEFamily(Family):
    def factor(self, config: dict) -> int:
        return 2 ** (len(config["ch_mult"]) - 1)

    def recognizes(self, shapes) -> bool:
        from latentgap.autoencoders.medvae import looks_like_medvae

        return looks_like_medvae(set(shapes), shapes)

    def prepare_state_dict(self, sd: dict) -> dict:
        from latentgap.autoencoders.medvae import strip_prefix

        return strip_prefix(sd)

    def infer_config(self, detection, sd: dict, metadata: dict) -> dict:
        if "config" in metadata:
            return super().infer_config(detection, sd, metadata)
        from latentgap.autoencoders.medvae import config_from_state_dict

        return {"_class_name": "MedVAE", **config_from_state_dict(sd)}

    def config_template(self) -> dict:
        """The 4x1 2D variant (MedVAE ships no diffusers config)."""
        from latentgap.autoencoders.medvae import MEDVAE_VARIANTS

        return {"_class_name": "MedVAE", **MEDVAE_VARIANTS["medvae_4_1_2d"]}

    def tiny_config(self) -> dict:
        return dict(ch=4, ch_mult=(1, 1), num_res_blocks=1, norm_num_groups=4, projection_hidden=4)

    def training_loss(self, model, x, recipe):
        return kl_training_loss(model, x, recipe)


register(
    MedVAEFamily(
        name="medvae",
        model_class="latentgap.autoencoders.medvae.MedVAE",
        in_channels=1,
        latent_channels=1,
        downsampling_factor=4,
        description="MedVAE 2D (LDM-style KL AE with a channel-projection head; 4x1, 4x3, 4x4, 8x1, 8x4)",
        hub_ids=("stanfordmimi/MedVAE",),
        paper_name="MedVAE",
        detection_order=30,
    )
)
