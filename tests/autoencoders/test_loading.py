import json
import shutil

import numpy as np
import pytest

from latentgap import LatentgapError
from latentgap.autoencoders.loading import detect_family, load_autoencoder
from latentgap.encode import encode_decode


def test_diffusers_folder_loads_and_encodes(tiny_ae_dir):
    ae = load_autoencoder(str(tiny_ae_dir))
    assert ae.family.name == "sd-vae" and ae.source == "diffusers-folder"
    assert ae.latent_channels == 4 and ae.downsampling_factor == 8 and len(ae.weights_hash) == 16
    images = np.random.default_rng(0).uniform(size=(3, 1, 32, 32)).astype(np.float32)
    latents, recons = encode_decode(ae, images, batch_size=2, device="cpu")
    assert latents.shape == (3, 4, 4, 4) and recons.shape == (3, 3, 32, 32)
    assert 0 <= recons.min() and recons.max() <= 1


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


def test_truncated_weights_are_a_clear_error(tiny_ae_dir, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_ae_dir, bad)
    w = bad / "diffusion_pytorch_model.safetensors"
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(LatentgapError, match="could not load the weights"):
        load_autoencoder(str(bad))


def test_family_detection():
    assert detect_family({"_class_name": "AutoencoderKL", "latent_channels": 4}).name == "sd-vae"
    with pytest.raises(LatentgapError, match="no known family.*tried"):
        detect_family({"_class_name": "AutoencoderKL", "latent_channels": 7})
    json.dumps({"ok": True})
