"""Autoencoder families as data: one registry entry per family (timm/diffusers style).

A family says which class builds it, how its latent is taken, and what its latent space looks like. Latent
scaling and shift live here, never in callers. Adding a family = one `Family(...)` entry here (+ a detection
rule in `detection.py`). Full-size configs are shipped in `data/configs/NAME.json` (no hub access).

Every family answers the same interface (`encode_latent`, `decode_latent`): pixels (N, C, H, W) in [-1, 1]
-> latent (N, c, H/f, W/f) -> pixels in [-1, 1]. The latent is the posterior mode for KL families (the paper).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import cache

from latentgap.errors import LatentgapError


@dataclass(frozen=True)
class Family:
    name: str
    model_class: str  # "diffusers.AutoencoderKL" or a latentgap class path
    latent_kind: str  # how the latent is taken: see LATENT_KINDS
    in_channels: int
    latent_channels: int  # of the full-size model (a checkpoint's own shapes win)
    downsampling_factor: int
    scaling_factor: float = 1.0  # the family's own latent scaling (the non-paper normalisation)
    shift_factor: float = 0.0
    description: str = ""
    hub_ids: tuple[str, ...] = ()  # public repos holding this family (diffusers layout)
    paper_name: str | None = None  # the name in "The Learnability Gap in Medical Latent Diffusion"
    shares_architecture_with: tuple[str, ...] = ()  # detection can only guess between these: --family overrides

    def build_class(self):
        module, _, cls = self.model_class.rpartition(".")
        return getattr(importlib.import_module(module), cls)

    def build_model(self, config: dict):
        """A randomly initialised model of this family from a diffusers-style config (`_`-keys are metadata)."""
        return self.build_class()(**{k: v for k, v in config.items() if not k.startswith("_")})

    def config_template(self) -> dict:
        """Full-size config (a copy), from data/configs, or the class defaults where none is shipped."""
        return dict(_config_file(self.name))


@cache
def _config_file(name: str) -> dict:
    from latentgap.resources import configs_dir

    path = configs_dir() / f"{name}.json"
    if name == "medvae":
        from latentgap.autoencoders.medvae import MEDVAE_VARIANTS

        return {"_class_name": "MedVAE", **MEDVAE_VARIANTS["medvae_4_1_2d"]}
    return json.loads(path.read_text())


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("sd-vae", "diffusers.AutoencoderKL", "kl", 3, 4, 8, 0.18215, 0.0,
               "KL-f8, 4 latent channels (Stable Diffusion 1.x/2.x)",
               ("stabilityai/sd-vae-ft-mse", "CompVis/stable-diffusion-v1-4"), "SD 1.4", ("sdxl-vae",)),
        Family("sdxl-vae", "diffusers.AutoencoderKL", "kl", 3, 4, 8, 0.13025, 0.0,
               "KL-f8, 4 latent channels (Stable Diffusion XL)", ("stabilityai/sdxl-vae",), None, ("sd-vae",)),
        Family("flux1-vae", "diffusers.AutoencoderKL", "kl", 3, 16, 8, 0.3611, 0.1159,
               "KL-f8, 16 latent channels, no quant convs (FLUX.1)", ("black-forest-labs/FLUX.1-dev",), "FLUX.1-dev",
               ("sd3-vae",)),
        Family("sd3-vae", "diffusers.AutoencoderKL", "kl", 3, 16, 8, 1.5305, 0.0609,
               "KL-f8, 16 latent channels, no quant convs (Stable Diffusion 3)",
               ("stabilityai/stable-diffusion-3-medium-diffusers",), None, ("flux1-vae",)),
        Family("flux2-vae", "diffusers.AutoencoderKLFlux2", "kl", 3, 32, 8, 1.0, 0.0,
               "KL-f8, 32 latent channels with batch-norm statistics over 2x2 patches (FLUX.2)",
               ("black-forest-labs/FLUX.2-dev",), "FLUX.2-dev"),
        Family("medvae", "latentgap.autoencoders.medvae.MedVAE", "kl", 1, 1, 4, 1.0, 0.0,
               "MedVAE 2D (LDM-style KL AE with a channel-projection head; 4x1, 4x3, 4x4, 8x1, 8x4)",
               ("stanfordmimi/MedVAE",), "MedVAE"),
        Family("dc-ae", "diffusers.AutoencoderDC", "dc", 3, 32, 32, 0.3189, 0.0,
               "deep-compression AE, f32, 32 latent channels", ("mit-han-lab/dc-ae-f32c32-in-1.0-diffusers",)),
        Family("taesd", "diffusers.AutoencoderTiny", "tiny", 3, 4, 8, 1.0, 0.0,
               "tiny AE (TAESD for SD/SDXL: 4 channels; TAEF1 for FLUX.1: 16 channels)",
               ("madebyollin/taesd", "madebyollin/taesdxl", "madebyollin/taef1")),
        Family("vq", "diffusers.VQModel", "vq", 3, 3, 4, 1.0, 0.0,
               "VQ-GAN (LDM VQ-f4 / VQ-f8); latent = pre-quantisation (default) or quantised",
               ("CompVis/ldm-celebahq-256",)),
    ]
}  # fmt: skip


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise LatentgapError(f"unknown autoencoder family {name!r}; known families: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


# --- one interface: pixels in [-1, 1] <-> latents, per latent kind ---------------------------------------------
def _kl_encode(model, x, vq_latent):
    return model.encode(x).latent_dist.mode()  # posterior mode, not a sample (the paper)


def _vq_encode(model, x, vq_latent):
    h = model.encode(x).latents  # after quant_conv, before the codebook
    return model.quantize(h)[0] if vq_latent == "quantized" else h


LATENT_KINDS = {
    "kl": (_kl_encode, lambda model, z: model.decode(z).sample),
    "dc": (lambda model, x, vq_latent: model.encode(x).latent, lambda model, z: model.decode(z).sample),
    "tiny": (lambda model, x, vq_latent: model.encode(x).latents, lambda model, z: model.decode(z).sample),
    "vq": (_vq_encode, lambda model, z: model.decode(z).sample),  # decode() quantises pre-quant latents itself
}
VQ_LATENTS = ("prequant", "quantized")


def downsampling_factor(family: Family, config: dict) -> int:
    """Spatial factor of a concrete config: every resolution stage but the last halves the size."""
    key = {"dc": "encoder_block_out_channels", "tiny": "encoder_block_out_channels"}.get(family.latent_kind)
    if family.name == "medvae":
        return 2 ** (len(config["ch_mult"]) - 1)
    blocks = config.get(key or "block_out_channels")
    return 2 ** (len(blocks) - 1) if blocks else family.downsampling_factor
