"""FLUX.2's autoencoder (diffusers' `AutoencoderKLFlux2`): KL-f8 with 32 latent channels, plus batch-norm statistics
of its 2x2-patchified latents, which are its own latent normalisation (and which the zoo trainer must fit)."""

from __future__ import annotations

from dataclasses import dataclass

from latentgap.autoencoders.families._ldm import kl_latent_channels, shape_config, shapes_of
from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.kl import KLFamily
from latentgap.autoencoders.families.registry import register


@dataclass(frozen=True, kw_only=True)
class Flux2Family(KLFamily):
    def recognizes(self, shapes) -> bool:
        return "bn.running_mean" in shapes

    def recognizes_config(self, config: dict) -> bool:
        return Family.recognizes_config(self, config)  # its own class name: no latent-width check

    def infer_config(self, detection, sd: dict, metadata: dict) -> dict:
        if "config" in metadata:
            return Family.infer_config(self, detection, sd, metadata)
        shapes = shapes_of(sd)
        config = shape_config(self.config_template(), shapes, detection.layout)
        config.update(latent_channels=kl_latent_channels(shapes))
        return config

    def normalize(self, model, config: dict, latents):
        """Latents (N, c, h, w) standardised per 2x2 patch channel with the model's batch-norm running statistics
        (FLUX.2's own normalisation), as float32 numpy of the same shape."""
        import numpy as np

        bn, (ph, pw) = model.bn, config.get("patch_size", (2, 2))
        n, c, h, w = latents.shape
        p = (
            latents.reshape(n, c, h // ph, ph, w // pw, pw)
            .transpose(0, 1, 3, 5, 2, 4)
            .reshape(n, c * ph * pw, h // ph, w // pw)
        )
        mean = bn.running_mean.numpy()[None, :, None, None]
        std = np.sqrt(bn.running_var.numpy() + config.get("batch_norm_eps", 1e-4))[None, :, None, None]
        p = (p - mean) / std
        return (
            p.reshape(n, c, ph, pw, h // ph, w // pw).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h, w).astype(np.float32)
        )

    def tiny_config(self) -> dict:
        return dict(
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2,
            block_out_channels=[4, 4],
            layers_per_block=1,
            norm_num_groups=4,
            latent_channels=4,
        )

    def after_training(self, model, sampler, batches: int = 32, batch_size: int = 16, size: int = 64) -> None:
        """Estimate the batch-norm statistics of the 2x2-patchified latents from training data."""
        import torch

        ph, pw = model.config.patch_size
        model.bn.reset_running_stats()
        model.bn.momentum = None  # cumulative average over the batches
        model.bn.train()
        with torch.no_grad():
            for _ in range(batches):
                z = model.encode(sampler.batch(batch_size, size)).latent_dist.mode()
                n, c, h, w = z.shape
                p = (
                    z.view(n, c, h // ph, ph, w // pw, pw)
                    .permute(0, 1, 3, 5, 2, 4)
                    .reshape(n, c * ph * pw, h // ph, w // pw)
                )
                model.bn(p)
        model.bn.momentum = model.config.batch_norm_momentum


register(
    Flux2Family(
        name="flux2-vae",
        model_class="diffusers.AutoencoderKLFlux2",
        in_channels=3,
        latent_channels=32,
        downsampling_factor=8,
        description="KL-f8, 32 latent channels with batch-norm statistics over 2x2 patches (FLUX.2)",
        hub_ids=("black-forest-labs/FLUX.2-dev",),
        paper_name="FLUX.2-dev",
        detection_order=20,
    )
)
