"""Every intake route (diffusers folder, pipeline folder, single file in both key layouts, wrapped checkpoints,
hub ids) on tiny random models of every family; the loaded model must compute exactly what the original does."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from latentgap import LatentgapError
from latentgap.autoencoders.families import FAMILIES
from latentgap.autoencoders.loading import detect_family, export_single_file, load_autoencoder
from latentgap.encode import encode_decode
from latentgap.tools.bench.families import full_size_autoencoder
from tests.autoencoders.conftest import DIFFUSERS_FAMILIES, tiny_model, to_ldm_layout

X = torch.rand(2, 3, 32, 32) * 2 - 1


def _reference_latent(family: str, model, x):
    """The latent each family takes, written out here independently of `Family.encode`: the posterior mode for KL
    families, DC-AE's and TAESD's deterministic latent, VQ's pre-quantisation latent."""
    out = model.encode(x)
    return {"dc-ae": lambda: out.latent, "taesd": lambda: out.latents, "vq": lambda: out.latents}.get(
        family, lambda: out.latent_dist.mode()
    )()


def _same_latents(ae, reference) -> bool:
    """The loaded autoencoder computes the reference model's latent and reconstruction."""
    x = X[:, :1] if ae.in_channels == 1 else X
    ref = tiny_model(reference) if isinstance(reference, str) else reference
    with torch.no_grad():
        z, z_ref = ae.encode(x), _reference_latent(ae.family.name, ref, x)
        return torch.allclose(z, z_ref, atol=1e-5) and torch.allclose(ae.decode(z), ref.decode(z_ref).sample, atol=1e-4)


@pytest.mark.parametrize("family", DIFFUSERS_FAMILIES)
def test_diffusers_folder_of_every_family(family, tiny_family_dirs):
    ae = load_autoencoder(str(tiny_family_dirs[family]))
    assert ae.family.name == family and ae.source == "diffusers-folder" and len(ae.weights_hash) == 16
    assert _same_latents(ae, family)
    images = np.random.default_rng(0).uniform(size=(3, 1, 32, 32)).astype(np.float32)
    latents, recons = encode_decode(ae, images, batch_size=2, device="cpu")
    f = ae.downsampling_factor
    assert latents.shape == (3, ae.latent_channels, 32 // f, 32 // f) and recons.shape[-1] == 32
    assert 0 <= recons.min() and recons.max() <= 1


@pytest.mark.parametrize("family", DIFFUSERS_FAMILIES)
def test_single_file_with_our_metadata(family, tiny_family_dirs, tmp_path):
    ae = load_autoencoder(str(tiny_family_dirs[family]))
    path = export_single_file(ae, tmp_path / "w.safetensors")
    again = load_autoencoder(str(path))
    assert again.family.name == family and again.source == "single-file" and _same_latents(again, family)


# weights alone cannot tell SDXL from SD or SD3 from FLUX.1: detection names the usual one, lists the other
BEST_GUESS = {"sdxl-vae": "sd-vae", "sd3-vae": "flux1-vae"}


@pytest.mark.parametrize("family", DIFFUSERS_FAMILIES)
def test_bare_diffusers_single_file_is_detected_from_shapes(family, tmp_path):
    # widths are read from the shapes for KL/VQ/MedVAE; DC-AE and TAESD files load at their full-size config
    model = full_size_autoencoder("taesd").model if family == "taesd" else tiny_model(family)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "vae.safetensors"))
    if family == "dc-ae":  # full size is 1.2 GB: a smaller one is detected, then needs its config.json
        with pytest.raises(LatentgapError, match="does not match a dc-ae autoencoder.*config.json"):
            load_autoencoder(str(tmp_path / "vae.safetensors"))
        return
    ae = load_autoencoder(str(tmp_path / "vae.safetensors"))
    assert ae.family.name == BEST_GUESS.get(family, family) and (family == ae.family.name or family in ae.alternatives)
    assert ae.layout == ("ldm" if family == "medvae" else "diffusers")
    assert _same_latents(ae, model)
    assert load_autoencoder(str(tmp_path / "vae.safetensors"), family=family).family.name == family  # --family


@pytest.mark.parametrize("family", ["sd-vae", "sdxl-vae", "flux1-vae", "sd3-vae", "vq"])
@pytest.mark.parametrize("prefix", ["", "first_stage_model.", "vae."])
def test_ldm_layout_single_file(family, prefix, tmp_path):
    model = tiny_model(family)
    ldm = {prefix + k: v.contiguous() for k, v in to_ldm_layout(model.state_dict()).items()}
    save_file(ldm, str(tmp_path / "vae.safetensors"))
    ae = load_autoencoder(str(tmp_path / "vae.safetensors"))
    assert ae.family.name == BEST_GUESS.get(family, family) and ae.layout == "ldm" and _same_latents(ae, model)
    assert ae.alternatives == FAMILIES[ae.family.name].shares_architecture_with
    assert family == ae.family.name or family in ae.alternatives
    if prefix:
        assert any(prefix in n for n in ae.notes)


def test_full_stable_diffusion_ckpt_keeps_only_the_vae(tmp_path):
    model = tiny_model("sd-vae")
    sd = {f"first_stage_model.{k}": v for k, v in to_ldm_layout(model.state_dict()).items()}
    sd["model.diffusion_model.input_blocks.0.0.weight"] = torch.randn(8, 4, 3, 3)
    sd["cond_stage_model.transformer.embeddings.weight"] = torch.randn(10, 8)
    torch.save({"state_dict": sd, "global_step": 5}, tmp_path / "sd-full.ckpt")
    ae = load_autoencoder(str(tmp_path / "sd-full.ckpt"))
    assert ae.family.name == "sd-vae" and _same_latents(ae, model)
    assert any("full diffusion checkpoint" in n for n in ae.notes)


def test_family_override_and_scaling(tmp_path):
    model = tiny_model("sd-vae")
    save_file(dict(model.state_dict()), str(tmp_path / "vae.safetensors"))
    assert load_autoencoder(str(tmp_path / "vae.safetensors")).family.name == "sd-vae"
    sdxl = load_autoencoder(str(tmp_path / "vae.safetensors"), family="sdxl-vae")
    assert sdxl.family.name == "sdxl-vae"
    z = np.ones((1, 4, 2, 2), np.float32)
    assert np.allclose(sdxl.family_normalize(z), 0.13025)
    flux = load_autoencoder(str(tmp_path / "vae.safetensors"), family="flux1-vae")
    assert np.allclose(flux.family_normalize(z), (1 - 0.1159) * 0.3611)


def test_flux2_family_normalisation_uses_batch_norm_statistics(tiny_family_dirs):
    ae = load_autoencoder(str(tiny_family_dirs["flux2-vae"]))
    bn = ae.model.bn
    z = np.zeros((1, 8, 4, 4), np.float32)
    out = ae.family_normalize(z)
    first_patch_channel0 = -bn.running_mean[0] / torch.sqrt(bn.running_var[0] + 1e-4)  # channel 0, patch (0, 0)
    assert np.isclose(out[0, 0, 0, 0], first_patch_channel0.item(), atol=1e-5)
    assert not np.isclose(out[0, 0, 0, 0], out[0, 0, 0, 1])  # the 2x2 patch positions have their own statistics


def test_vq_latent_before_and_after_the_codebook(tiny_family_dirs):
    pre = load_autoencoder(str(tiny_family_dirs["vq"]))
    post = load_autoencoder(str(tiny_family_dirs["vq"]), vq_latent="quantized")
    with torch.no_grad():
        zq, zp = post.encode(X), pre.encode(X)
    codes = post.model.quantize.embedding.weight
    dist = torch.cdist(zq.permute(0, 2, 3, 1).reshape(-1, 3), codes).min(1).values
    assert torch.allclose(dist, torch.zeros_like(dist), atol=1e-4) and not torch.allclose(zq, zp)


def test_pipeline_folder_as_a_hub_snapshot(tiny_family_dirs, tmp_path):
    shutil.copytree(tiny_family_dirs["sd-vae"], tmp_path / "pipe" / "vae")
    (tmp_path / "pipe" / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    assert load_autoencoder(str(tmp_path / "pipe")).family.name == "sd-vae"


def test_hub_id_offline_is_a_clear_error():
    with pytest.raises(LatentgapError, match="could not be fetched.*--local-dir"):
        load_autoencoder("stabilityai/sd-vae-ft-mse")


def test_hash_identifies_content(tiny_ae_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_ae_dir, copy)
    assert load_autoencoder(str(copy)).weights_hash == load_autoencoder(str(tiny_ae_dir)).weights_hash


def test_unknown_names_and_bad_folders(tmp_path):
    with pytest.raises(LatentgapError, match="unknown autoencoder 'nope'.*zoo:sd-vae-mini"):
        load_autoencoder("nope")
    with pytest.raises(LatentgapError, match="unknown zoo model"):
        load_autoencoder("zoo:nope")
    with pytest.raises(LatentgapError, match="needs config.json"):
        load_autoencoder(str(tmp_path))
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "w.safetensors").write_bytes(b"")
    with pytest.raises(LatentgapError, match="not valid JSON"):
        load_autoencoder(str(tmp_path))


def test_config_based_family_detection():
    assert detect_family({"_class_name": "AutoencoderKL", "latent_channels": 4}).name == "sd-vae"
    assert (
        detect_family({"_class_name": "AutoencoderKL", "latent_channels": 4, "scaling_factor": 0.13025}).name
        == "sdxl-vae"
    )
    sd3 = {"_class_name": "AutoencoderKL", "latent_channels": 16, "use_quant_conv": False, "shift_factor": 0.0609}
    assert detect_family(sd3).name == "sd3-vae"
    assert detect_family({"_class_name": "AutoencoderTiny", "latent_channels": 16}).name == "taesd"
    with pytest.raises(LatentgapError, match="no known family.*tried"):
        detect_family({"_class_name": "AutoencoderKL", "latent_channels": 7})
