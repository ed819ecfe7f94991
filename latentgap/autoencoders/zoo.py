"""The embedded mini-zoo's catalogue: small autoencoders the project trains itself with a seeded recipe and ships.

Each entry is data (family, architecture overrides, training recipe); the weights live in `resources.zoo_dir()/NAME/`
as diffusers folders. The trainer that builds them is tooling (`latentgap/tools/zoo_build.py`, `zoo build`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from latentgap.errors import LatentgapError
from latentgap.resources import zoo_dir


@dataclass(frozen=True)
class ZooRecipe:
    seed: int = 0
    steps_small: int = 2000  # steps at `crop_small` px (cheap, most of the learning)
    steps_large: int = 400  # then steps at `crop_large` px (the resolution the quick profile uses)
    crop_small: int = 32
    crop_large: int = 64
    batch_size: int = 16
    lr: float = 1e-3
    kl_weight: float = 1e-6
    grad_weight: float = 0.5  # L1 on image gradients keeps edges sharper than L1 alone
    threads: int = 1  # CPU threads while training: the weights are bit-identical only at the same thread count


@dataclass(frozen=True)
class ZooModel:
    name: str
    family: str
    description: str
    config: dict  # diffusers config overrides on top of the family template
    recipe: ZooRecipe = field(default_factory=ZooRecipe)
    init_from: str | None = None  # fine-tune: start from this zoo model's weights ...
    data: str = "corpus"  # ... on "corpus" (general-domain photographs) or "benchmarks" (embedded SYNTHETIC phantoms)
    source: str = "trained"  # "trained" here (`zoo build`), "pretrained" (real weights shipped as found), "code"

    def __post_init__(self):
        assert self.source in ("trained", "pretrained", "code"), self.source


KL_MINI = dict(block_out_channels=[32, 64, 128, 128], layers_per_block=1, norm_num_groups=16, sample_size=64)
KL_SMALL = dict(block_out_channels=[16, 32, 64, 64], layers_per_block=1, norm_num_groups=16, sample_size=64)  # ~1 M
SHORT = ZooRecipe(steps_small=500, steps_large=100)  # ~3 min on a 2-core CPU: the rest of the zoo stays cheap
FINE_TUNE = ZooRecipe(steps_small=0, steps_large=250, lr=2e-4)  # medical fine-tuning at the quick resolution

ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in [
        ZooModel(
            "sd-vae-mini",
            "sd-vae",
            "SD-architecture KL-f8 VAE, 4 latent channels, 3.9 M parameters, general-domain pretrained",
            KL_MINI,
        ),
        ZooModel(
            "sdxl-vae-mini",
            "sdxl-vae",
            "SDXL-architecture KL-f8 VAE (same layout as SD, own training run), "
            "4 latent channels, half the width of sd-vae-mini",
            KL_SMALL,
            replace(SHORT, seed=1),
        ),
        ZooModel(
            "flux1-vae-mini",
            "flux1-vae",
            "FLUX.1-architecture KL-f8 VAE, 16 latent channels, no quant convs",
            {**KL_MINI, "latent_channels": 16, "use_quant_conv": False, "use_post_quant_conv": False},
            SHORT,
        ),
        ZooModel(
            "sd3-vae-mini",
            "sd3-vae",
            "SD3-architecture KL-f8 VAE, 16 latent channels, no quant convs, half the width of flux1-vae-mini",
            {**KL_SMALL, "latent_channels": 16, "use_quant_conv": False, "use_post_quant_conv": False},
            replace(SHORT, seed=1),
        ),
        ZooModel(
            "flux2-vae-mini",
            "flux2-vae",
            "FLUX.2-architecture KL-f8 VAE, 32 latent channels, batch-norm statistics over 2x2 patches",
            {**KL_SMALL, "latent_channels": 32},
            SHORT,
        ),
        ZooModel(
            "medvae-mini",
            "medvae",
            "MedVAE-architecture 4x1 (f4, 1 latent channel, 1-channel input) KL AE "
            "with its channel-projection head, general-domain pretrained (grayscale)",
            dict(ch=16, ch_mult=[1, 2, 4], num_res_blocks=1, norm_num_groups=16),
            SHORT,
        ),
        ZooModel(
            "medvae-mini-ft",
            "medvae",
            "medvae-mini fine-tuned on the embedded SYNTHETIC benchmarks (the paper's 'MedVAE fine-tuned')",
            dict(ch=16, ch_mult=[1, 2, 4], num_res_blocks=1, norm_num_groups=16),
            FINE_TUNE,
            init_from="medvae-mini",
            data="benchmarks",
        ),
        ZooModel(
            "sd-vae-mini-ft",
            "sd-vae",
            "sd-vae-mini fine-tuned on the embedded SYNTHETIC benchmarks",
            KL_MINI,
            FINE_TUNE,
            init_from="sd-vae-mini",
            data="benchmarks",
        ),
        ZooModel(
            "dc-ae-mini",
            "dc-ae",
            "DC-AE-architecture f32 deep-compression AE, 32 latent channels",
            dict(
                encoder_block_out_channels=[16, 32, 64, 64, 128, 128],
                decoder_block_out_channels=[16, 32, 64, 64, 128, 128],
                encoder_layers_per_block=[1, 1, 1, 1, 1, 1],
                decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
                encoder_block_types=["ResBlock"] * 4 + ["EfficientViTBlock"] * 2,
                decoder_block_types=["ResBlock"] * 4 + ["EfficientViTBlock"] * 2,
                attention_head_dim=16,
                encoder_qkv_multiscales=[[], [], [], [], [5], [5]],
                decoder_qkv_multiscales=[[], [], [], [], [5], [5]],
                decoder_norm_types="rms_norm",
                decoder_act_fns="silu",
                upsample_block_type="pixel_shuffle",
                downsample_block_type="pixel_unshuffle",
            ),
            SHORT,
        ),
        ZooModel(
            "taesd-mini",
            "taesd",
            "TAESD-architecture tiny AE, f8, 4 latent channels",
            dict(
                encoder_block_out_channels=[32, 32, 32, 32],
                decoder_block_out_channels=[32, 32, 32, 32],
                num_encoder_blocks=[1, 2, 2, 2],
                num_decoder_blocks=[2, 2, 2, 1],
            ),
            SHORT,
        ),
        ZooModel(
            "vq-f4-mini",
            "vq",
            "VQ-f4 (LDM VQ-GAN architecture), 3 latent channels, 1,024 codes",
            dict(
                block_out_channels=[32, 64, 128],
                layers_per_block=1,
                norm_num_groups=16,
                num_vq_embeddings=1024,
                vq_embed_dim=3,
                sample_size=64,
            ),
            SHORT,
        ),
        # controls with known answers, built from code (families/controls.py): read every gap against them
        ZooModel(
            "null-s2d",
            "null-s2d",
            "NULL CONTROL (lossless): pixel-unshuffle f8, reconstruction = image; its matched gap must be about 0",
            {},
            source="code",
        ),
        ZooModel(
            "null-s2d-rot",
            "null-s2d-rot",
            "NULL CONTROL (lossless, linear): pixel-unshuffle f8 + a fixed orthogonal channel mix",
            {},
            source="code",
        ),
        ZooModel(
            "null-s2d-flow",
            "null-s2d-flow",
            "NULL CONTROL (lossless, non-linear): pixel-unshuffle f8 + an "
            "invertible 1x1 conv and asinh (a one-layer flow)",
            {},
            source="code",
        ),
        ZooModel(
            "blur-f8",
            "blur",
            "FIDELITY CONTROL: 8x8 average pool, nearest upsample; must show fidelity loss",
            {},
            source="code",
        ),
        # real pretrained weights (MIT, madebyollin/taesd), shipped with their licence and card
        ZooModel(
            "taef2",
            "taef2",
            "TAEF2, real pretrained: tiny AE distilled into the FLUX.2 VAE latent space (32 ch, f8), encoder + decoder",
            {},
            source="pretrained",
        ),
        ZooModel(
            "taesana-encoder",
            "taesana",
            "TAESana encoder, real pretrained: distilled into Sana's DC-AE latent "
            "space (32 ch, f32); encoder only (no reconstruction)",
            {},
            source="pretrained",
        ),
    ]
}

DEFAULT_AE = "zoo:taef2"  # real pretrained weights (MIT), diagnosed on real chest X-rays by default


def get_zoo_model(name: str) -> ZooModel:
    name = name.removeprefix("zoo:")
    if name not in ZOO:
        raise LatentgapError(f"unknown zoo model {name!r}; available: {', '.join(sorted(ZOO))} (see `zoo list`)")
    return ZOO[name]


def zoo_path(name: str) -> Path:
    return zoo_dir() / get_zoo_model(name).name


def is_built(name: str, root: Path | None = None) -> bool:
    model = get_zoo_model(name)
    folder = Path(root or zoo_dir()) / model.name
    if model.source != "trained":
        return model.source == "code" or any(folder.glob("*_encoder.pth"))
    return (folder / "diffusion_pytorch_model.safetensors").exists()


def build_config(model: ZooModel) -> dict:
    from latentgap.autoencoders.families import get_family

    return {**get_family(model.family).config_template(), **model.config}


def describe(name: str) -> dict:
    """Zoo entry for `zoo list`: name, family, description, whether built, and the card if written."""
    spec = get_zoo_model(name)
    card_file = zoo_path(name) / "card.json"
    card = json.loads(card_file.read_text()) if card_file.exists() else None
    return dict(
        name=spec.name,
        ref=f"zoo:{spec.name}",
        family=spec.family,
        description=spec.description,
        built=is_built(name),
        card=card,
    )
