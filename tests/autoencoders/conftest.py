"""Tiny random-weight models of every family, and a writer of the CompVis/LDM key layout.

`to_ldm_layout` renames diffusers keys back to the original LDM names with rules written here from the LDM
code's naming (`encoder.down.N.block.M`, `mid.attn_1.q`, `nin_shortcut`, `norm_out`), independently of the
loader, which converts with diffusers' own `convert_ldm_vae_checkpoint`.
"""

import re

import pytest
import torch

from latentgap.autoencoders.families import FAMILIES

KL = dict(
    down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4,
    block_out_channels=[8, 16, 16, 16],
    layers_per_block=1,
    norm_num_groups=8,
)
TINY_CONFIGS = {
    "sd-vae": dict(KL, latent_channels=4),
    "sdxl-vae": dict(KL, latent_channels=4, scaling_factor=0.13025),
    "flux1-vae": dict(
        KL,
        latent_channels=16,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.1159,
        scaling_factor=0.3611,
    ),
    "sd3-vae": dict(
        KL,
        latent_channels=16,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5305,
    ),
    "flux2-vae": dict(KL, latent_channels=8),
    "medvae": dict(ch=8, ch_mult=(1, 2, 4), num_res_blocks=1, norm_num_groups=8),  # groups: what shapes imply
    "dc-ae": dict(
        latent_channels=8,
        attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "EfficientViTBlock"],
        encoder_block_out_channels=[8, 16, 32],
        decoder_block_out_channels=[8, 16, 32],
        encoder_layers_per_block=[1, 1, 1],
        decoder_layers_per_block=[1, 1, 1],
        encoder_qkv_multiscales=[[], [], [5]],
        decoder_qkv_multiscales=[[], [], [5]],
        decoder_norm_types="rms_norm",
        decoder_act_fns="silu",
    ),
    "taesd": dict(
        encoder_block_out_channels=[8, 8, 8, 8],
        decoder_block_out_channels=[8, 8, 8, 8],
        num_encoder_blocks=[1, 1, 1, 1],
        num_decoder_blocks=[1, 1, 1, 1],
    ),
    "vq": dict(
        down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3,
        block_out_channels=[8, 16, 16],
        layers_per_block=1,
        norm_num_groups=8,
        latent_channels=3,
        num_vq_embeddings=32,
        vq_embed_dim=3,
    ),
}
# the families that arrive as a diffusers config + state dict (the controls are code, taesd .pth files have own tests)
DIFFUSERS_FAMILIES = [name for name, f in FAMILIES.items() if f.intake == "diffusers"]
assert set(TINY_CONFIGS) == set(DIFFUSERS_FAMILIES)


def tiny_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    model = FAMILIES[family].build_class()(**TINY_CONFIGS[family]).eval()
    with torch.no_grad():  # random, not zero, norms and biases: a wrong key mapping then changes the output
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
        if family == "flux2-vae":
            model.bn.running_mean.normal_()
            model.bn.running_var.uniform_(0.5, 2)
    return model


@pytest.fixture(scope="session")
def tiny_family_dirs(tmp_path_factory):
    """{family: diffusers folder of a tiny random model}."""
    out = {}
    for family in DIFFUSERS_FAMILIES:
        path = tmp_path_factory.mktemp(f"tiny-{family}")
        tiny_model(family).save_pretrained(path, safe_serialization=True)
        out[family] = path
    return out


def to_ldm_layout(sd: dict) -> dict:
    """diffusers AutoencoderKL/VQModel keys -> CompVis/LDM keys (1x1-conv attention weights)."""
    n_up = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"decoder\.up_blocks\.(\d+)\.", k)))
    out = {}
    for key, value in sd.items():
        k = re.sub(r"encoder\.down_blocks\.(\d+)\.resnets\.", r"encoder.down.\1.block.", key)
        k = re.sub(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample.", k)
        k = re.sub(
            r"decoder\.up_blocks\.(\d+)\.resnets\.", lambda m: f"decoder.up.{n_up - 1 - int(m.group(1))}.block.", k
        )
        k = re.sub(
            r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.",
            lambda m: f"decoder.up.{n_up - 1 - int(m.group(1))}.upsample.",
            k,
        )
        k = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda m: f"mid.block_{int(m.group(1)) + 1}.", k)
        k = k.replace("mid_block.attentions.0.", "mid.attn_1.").replace("conv_shortcut", "nin_shortcut")
        k = k.replace("conv_norm_out", "norm_out")
        for new, old in (("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out"), ("group_norm", "norm")):
            k = k.replace(f"attn_1.{new}.", f"attn_1.{old}.")
        if ".attn_1." in k and k.endswith("weight") and value.ndim == 2:
            value = value[:, :, None, None]
        out[k] = value
    return out
