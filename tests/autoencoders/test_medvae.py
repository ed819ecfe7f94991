"""MedVAE re-implementation: shapes, diffusers round trip, strict loading of the ORIGINAL key layout, detection.

`original_layout` below writes MedVAE/LDM checkpoint keys from the naming patterns of the official code
(medvae/utils/vae/diffusionmodels.py, medvae/models/autoencoder_kl.py, LoRA injection from medvae/utils/lora.py),
independently of `latentgap.autoencoders.medvae`.
"""

import pytest
import torch
from diffusers import AutoencoderKL
from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint
from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

from latentgap.autoencoders.medvae import (
    MEDVAE_VARIANTS,
    MedVAE,
    config_from_state_dict,
    looks_like_medvae,
    strip_prefix,
)

TINY_F4 = dict(ch=8, ch_mult=(1, 2, 4), num_res_blocks=1, norm_num_groups=4)
TINY_F8 = dict(ch=8, ch_mult=(1, 2, 4, 4), num_res_blocks=1, norm_num_groups=4)


# ---------- the original checkpoint layout, written from the official naming patterns ----------


class Layout:
    def __init__(self, make, lora):
        self.sd, self.make, self.lora = {}, make, lora

    def conv(self, name, cin, cout, k, lora_ok=True):
        if self.lora and lora_ok:  # LoRA-injected conv: conv.{weight,bias}, lora_down (k x k), lora_up (1x1)
            self.sd[f"{name}.lora_down.weight"] = self.make(self.lora, cin, k, k)
            self.sd[f"{name}.lora_up.weight"] = self.make(cout, self.lora, 1, 1)
            name = f"{name}.conv"
        self.sd[f"{name}.weight"], self.sd[f"{name}.bias"] = self.make(cout, cin, k, k), self.make(cout)

    def norm(self, name, c):
        self.sd[f"{name}.weight"], self.sd[f"{name}.bias"] = 1 + self.make(c), self.make(c)

    def resblock(self, p, cin, cout):
        self.norm(f"{p}.norm1", cin), self.conv(f"{p}.conv1", cin, cout, 3)
        self.norm(f"{p}.norm2", cout), self.conv(f"{p}.conv2", cout, cout, 3)
        if cin != cout:
            self.conv(f"{p}.nin_shortcut", cin, cout, 1)

    def attn(self, p, c):
        self.norm(f"{p}.norm", c)
        for n in ("q", "k", "v", "proj_out"):
            self.conv(f"{p}.{n}", c, c, 1)

    def mid(self, p, c):
        self.resblock(f"{p}.mid.block_1", c, c), self.attn(f"{p}.mid.attn_1", c)
        self.resblock(f"{p}.mid.block_2", c, c)


def original_layout(cin, cout, ch, ch_mult, nrb, z, e, attn_levels=(), lora=0, head=64, make=None):
    """Keys/tensors of an official MedVAE 2D checkpoint (`head`: channel_ds width, 0 = no head = plain LDM VAE)."""
    gen = torch.Generator().manual_seed(0)
    lay = Layout(make or (lambda *s: 0.1 * torch.randn(*s, generator=gen)), lora)
    conv = lay.conv
    conv("encoder.conv_in", cin, ch, 3, False)
    block_in = ch
    for i, m in enumerate(ch_mult):
        for j in range(nrb):
            lay.resblock(f"encoder.down.{i}.block.{j}", block_in, ch * m)
            block_in = ch * m
            if i in attn_levels:
                lay.attn(f"encoder.down.{i}.attn.{j}", block_in)
        if i != len(ch_mult) - 1:
            conv(f"encoder.down.{i}.downsample.conv", block_in, block_in, 3, False)
    lay.mid("encoder", block_in), lay.norm("encoder.norm_out", block_in)
    conv("encoder.conv_out", block_in, 2 * z, 3, False)
    conv("decoder.conv_in", z, block_in, 3, False), lay.mid("decoder", block_in)
    for i in reversed(range(len(ch_mult))):
        for j in range(nrb + 1):
            lay.resblock(f"decoder.up.{i}.block.{j}", block_in, ch * ch_mult[i])
            block_in = ch * ch_mult[i]
            if i in attn_levels:
                lay.attn(f"decoder.up.{i}.attn.{j}", block_in)
        if i != 0:
            conv(f"decoder.up.{i}.upsample.conv", block_in, block_in, 3, False)
    lay.norm("decoder.norm_out", block_in), conv("decoder.conv_out", block_in, cout, 3, False)
    conv("quant_conv", 2 * z, 2 * e, 1, False), conv("post_quant_conv", e, z, 1, False)
    if head:
        conv("channel_ds.0", e, head, 1, False), conv("channel_ds.2", head, head, 3, False)
        conv("channel_ds.4", head, e, 1, False), conv("channel_proj", e, e, 1, False)
    return lay.sd


def tiny_layout(**kw):
    args = dict(cin=1, cout=1, ch=8, ch_mult=(1, 2, 4), nrb=1, z=3, e=3)
    return original_layout(**{**args, **kw})


def load(sd):
    model = MedVAE(**config_from_state_dict(sd)).eval()
    model.load_state_dict(strip_prefix(sd), strict=True)
    return model


# ---------- tests ----------


@pytest.mark.parametrize("arch,f", [(TINY_F4, 4), (TINY_F8, 8)])
@pytest.mark.parametrize("cin,z,lat", [(1, 1, 1), (3, 3, 3), (1, 4, 4), (3, 2, 4)])
def test_shapes_and_deterministic_mode(arch, f, cin, z, lat):
    torch.manual_seed(0)
    model = MedVAE(in_channels=cin, out_channels=cin, z_channels=z, latent_channels=lat, **arch).eval()
    x = torch.rand(2, cin, 32, 48) * 2 - 1
    with torch.no_grad():
        dist = model.encode(x).latent_dist
        mode = dist.mode()
        assert isinstance(dist, DiagonalGaussianDistribution)
        assert mode.shape == (2, lat, 32 // f, 48 // f) and model.downsampling_factor == f
        assert torch.equal(mode, model.encode(x).latent_dist.mode())
        assert not torch.equal(mode, dist.sample())
        assert model.decode(mode).sample.shape == (2, cin, 32, 48)
        assert model.project(mode).shape == mode.shape


def test_save_pretrained_round_trip(tmp_path):
    torch.manual_seed(1)
    cfg = dict(
        TINY_F4,
        in_channels=1,
        out_channels=1,
        z_channels=4,
        latent_channels=4,
        lora_rank=4,
        attn_resolutions=(16,),
        resolution=32,
    )
    model = MedVAE(**cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))  # nonzero LoRA ups, perturbed norms
    model.save_pretrained(tmp_path, safe_serialization=True)
    again = MedVAE.from_pretrained(tmp_path, low_cpu_mem_usage=False).eval()
    assert (tmp_path / "diffusion_pytorch_model.safetensors").exists()
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}.items() <= dict(again.config).items()
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        z = model.encode(x).latent_dist.mode()
        assert torch.equal(z, again.encode(x).latent_dist.mode())
        assert torch.equal(model.decode(z).sample, again.decode(z).sample)
        assert torch.equal(model.project(z), again.project(z))


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(lora=4),
        dict(attn_levels=(1,), lora=4),
        dict(ch_mult=(1, 2, 4, 4), z=1, e=1, head=16),
        dict(cin=3, cout=3, z=4, e=4, head=0),
        dict(nrb=2, ch=16, ch_mult=(1, 2)),
    ],
)
@pytest.mark.parametrize("wrap", ["plain", "lightning", "model.", "module.model."])
def test_original_layout_loads_strict(kw, wrap):
    sd = tiny_layout(**kw)
    if wrap == "lightning":  # LDM Lightning checkpoint: nested, with training-only loss/EMA keys
        extra = {"loss.logvar": torch.zeros(()), "loss.discriminator.main.0.weight": torch.zeros(2, 1, 4, 4)}
        wrapped = {"state_dict": {**sd, **extra, "model_ema.decay": torch.tensor(0.9)}, "global_step": 3}
    else:
        wrapped = {(wrap if wrap != "plain" else "") + k: v for k, v in sd.items()}
    model = load(wrapped)
    loaded = model.state_dict()
    assert loaded.keys() == sd.keys() and all(torch.equal(loaded[k], v) for k, v in sd.items())
    cfg = model.config
    assert cfg.lora_rank == kw.get("lora", 0) and cfg.channel_projection == bool(kw.get("head", 64))
    assert cfg.in_channels == kw.get("cin", 1) and cfg.latent_channels == kw.get("e", 3)
    assert cfg.norm_num_groups == kw.get("ch", 8) and len(cfg.attn_resolutions) == len(kw.get("attn_levels", ()))


@pytest.mark.parametrize("name", sorted(MEDVAE_VARIANTS))
def test_full_size_variants_match_original_layout(name):
    v = MEDVAE_VARIANTS[name]
    sd = original_layout(
        v["in_channels"],
        v["out_channels"],
        v["ch"],
        v["ch_mult"],
        v["num_res_blocks"],
        v["z_channels"],
        v["latent_channels"],
        lora=v["lora_rank"],
        head=v["projection_hidden"],
        make=lambda *s: torch.empty(s, device="meta"),
    )
    cfg = config_from_state_dict(sd)
    assert {**cfg, "resolution": v["resolution"]} == v
    with torch.device("meta"):
        model = MedVAE(**v)
    assert {k: t.shape for k, t in model.state_dict().items()} == {k: t.shape for k, t in sd.items()}
    assert looks_like_medvae(set(sd), {k: tuple(t.shape) for k, t in sd.items()})


def test_default_config_is_medvae_4_1_2d():
    with torch.device("meta"):
        model = MedVAE()
    assert {k: dict(model.config)[k] for k in MEDVAE_VARIANTS["medvae_4_1_2d"]} == MEDVAE_VARIANTS["medvae_4_1_2d"]


def test_numerics_match_diffusers_ldm_conversion():
    """Same LDM weights through diffusers' own converter + AutoencoderKL give the same latents and images."""
    sd = tiny_layout(ch_mult=(1, 2, 4, 4), z=4, e=4, head=0)
    ours = load(sd)
    ref = AutoencoderKL(
        in_channels=1,
        out_channels=1,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[8, 16, 32, 32],
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
    ).eval()
    ref.load_state_dict(convert_ldm_vae_checkpoint(sd, dict(ref.config)), strict=True)
    x = torch.rand(2, 1, 32, 40) * 2 - 1
    with torch.no_grad():
        z = ours.encode(x).latent_dist.mode()
        torch.testing.assert_close(z, ref.encode(x).latent_dist.mode(), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(ours.decode(z).sample, ref.decode(z).sample, atol=1e-5, rtol=1e-4)


def test_lora_equals_merged_weights():
    """conv(x) + lora_up(lora_down(x)) == conv with W + up @ down (how MedVAE's LoRA convs compute)."""
    sd = tiny_layout(lora=4, attn_levels=(2,))
    merged = {}
    for k, v in sd.items():
        base, _, leaf = k.rpartition(".")
        owner = base.removesuffix(".conv")
        if ".lora_" in k:
            continue
        if base.endswith(".conv") and f"{owner}.lora_up.weight" in sd:  # a LoRA-wrapped conv, not a resampler's
            if leaf == "weight":
                up, down = sd[f"{owner}.lora_up.weight"][:, :, 0, 0], sd[f"{owner}.lora_down.weight"]
                v = v + torch.einsum("or,rikl->oikl", up, down)
            k = f"{owner}.{leaf}"
        merged[k] = v
    lora_model, plain = load(sd), load(merged)
    assert plain.config.lora_rank == 0
    x = torch.rand(1, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        z = lora_model.encode(x).latent_dist.mode()
        torch.testing.assert_close(z, plain.encode(x).latent_dist.mode(), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(lora_model.decode(z).sample, plain.decode(z).sample, atol=1e-5, rtol=1e-4)


def _keys_shapes(sd, prefix=""):
    return {prefix + k for k in sd}, {prefix + k: tuple(v.shape) for k, v in sd.items()}


def test_looks_like_medvae():
    assert looks_like_medvae(*_keys_shapes(tiny_layout()))
    assert looks_like_medvae(*_keys_shapes(tiny_layout(), "model."))
    assert looks_like_medvae(*_keys_shapes(tiny_layout(lora=4, head=0)))  # LoRA variant without the head
    sd_vae = tiny_layout(cin=3, cout=3, ch_mult=(1, 2, 4, 4), z=4, e=4, head=0)  # plain SD LDM VAE layout
    assert not looks_like_medvae(*_keys_shapes(sd_vae))
    assert not looks_like_medvae(*_keys_shapes(sd_vae, "first_stage_model."))
    diffusers_vae = AutoencoderKL(
        block_out_channels=[8, 8],
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        norm_num_groups=4,
    ).state_dict()
    assert not looks_like_medvae(*_keys_shapes(diffusers_vae))
    keys, shapes = _keys_shapes(tiny_layout())
    assert not looks_like_medvae(keys, {**shapes, "channel_proj.weight": (5, 5, 1, 1)})  # head width != latent


def test_strip_prefix_and_project():
    sd = tiny_layout()
    with pytest.raises(ValueError, match="no MedVAE"):
        strip_prefix({"optimizer": {}, "state_dict": {"foo.weight": torch.zeros(1)}})
    assert strip_prefix({"module." + k: v for k, v in sd.items()}).keys() == sd.keys()
    model = load(sd)
    z = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        want = torch.nn.functional.conv2d(model.channel_ds(z) + z, sd["channel_proj.weight"], sd["channel_proj.bias"])
        torch.testing.assert_close(model.project(z), want)
    with pytest.raises(ValueError, match="no channel projection"):
        load(tiny_layout(head=0)).project(z)
