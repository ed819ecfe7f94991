"""The embedded mini-zoo: one model per family, shipped weights with cards, seeded builds, diagnosable."""

import json

import numpy as np
import pytest
import torch

from latentgap.autoencoders import zoo
from latentgap.autoencoders.loading import load_autoencoder
from latentgap.encode import encode_decode
from latentgap.errors import LatentgapError
from latentgap.resources import zoo_dir
from latentgap.tools import zoo_build
from tests.autoencoders.conftest import DIFFUSERS_FAMILIES

BUILT = [name for name in zoo.ZOO if zoo.is_built(name)]
TRAINED = [name for name, m in zoo.ZOO.items() if m.source == "trained"]  # by `zoo build`, with a measured card


def test_every_family_has_a_zoo_model_and_fine_tunes_name_their_base():
    assert {m.family for m in zoo.ZOO.values()} >= set(DIFFUSERS_FAMILIES)
    assert {"null-s2d", "null-s2d-rot", "null-s2d-flow", "blur", "taef2", "taesana"} <= {
        m.family for m in zoo.ZOO.values()
    }
    for m in zoo.ZOO.values():
        assert m.init_from is None or (m.init_from in zoo.ZOO and zoo.ZOO[m.init_from].family == m.family)
        assert m.data in ("corpus", "benchmarks")
    assert {m.family for m in zoo.ZOO.values() if m.init_from} >= {"medvae", "sd-vae"}  # the paper's fine-tuning


def test_every_zoo_model_is_shipped_with_a_card_and_the_zoo_is_small():
    assert BUILT == list(zoo.ZOO), f"not built: {sorted(set(zoo.ZOO) - set(BUILT))} (run `zoo build`)"
    total = sum(f.stat().st_size for f in zoo_dir().rglob("*.safetensors"))
    assert total < 50 * 2**20, f"zoo weights take {total / 2**20:.1f} MB"
    for name in TRAINED:
        card = zoo.describe(name)["card"]
        assert card["family"] == zoo.ZOO[name].family and card["parameters"] > 0
        assert all(v["psnr"] > 10 for v in card["reconstruction"].values())
        assert (zoo.zoo_path(name) / "README.md").read_text().startswith(f"# zoo:{name}")
        assert "_name_or_path" not in json.loads((zoo.zoo_path(name) / "config.json").read_text())  # no builder's path
        assert card["training"]["torch_threads"] == zoo.ZOO[name].recipe.threads  # what makes a rebuild bit-identical


@pytest.mark.parametrize("name", BUILT)
def test_zoo_model_loads_and_encodes(name):
    ae = load_autoencoder(f"zoo:{name}")
    card = zoo.describe(name)["card"]
    assert ae.family.name == zoo.ZOO[name].family
    if zoo.ZOO[name].source == "trained":
        assert ae.parameters == card["parameters"]
    elif zoo.ZOO[name].source == "pretrained":  # shipped as found: the card names the files and their sha256
        assert ae.parameters == sum(card["parameters"].values()) and card["license"].startswith("MIT")
    images = np.random.default_rng(0).uniform(size=(2, 1, 64, 64)).astype(np.float32)
    latents, recons = encode_decode(ae, images, 2, "cpu")
    f = ae.downsampling_factor
    assert latents.shape == (2, ae.latent_channels, 64 // f, 64 // f) and np.isfinite(latents).all()


def test_build_is_seeded_and_fine_tuning_starts_from_its_base(tmp_path):
    a = zoo_build.train("taesd-mini", tmp_path / "a", steps_scale=0.01)
    b = zoo_build.train("taesd-mini", tmp_path / "b", steps_scale=0.01)
    assert (a / "diffusion_pytorch_model.safetensors").read_bytes() == (
        b / "diffusion_pytorch_model.safetensors"
    ).read_bytes()
    with pytest.raises(LatentgapError, match="build that first"):
        zoo_build.train("sd-vae-mini-ft", tmp_path / "ft", steps_scale=0.004)
    zoo_build.train("sd-vae-mini", tmp_path / "ft", steps_scale=0.001)
    ft = zoo_build.train("sd-vae-mini-ft", tmp_path / "ft", steps_scale=0.004)
    meta = json.loads((ft / "training.json").read_text())
    assert meta["init_from"] == "sd-vae-mini" and meta["data"] == "benchmarks" and meta["steps"] == 1
    assert meta["torch_threads"] == zoo.ZOO["sd-vae-mini-ft"].recipe.threads == 1


def test_training_pins_its_thread_count_and_gives_it_back(tmp_path):
    torch.set_num_threads(2)
    zoo_build.train("taesd-mini", tmp_path, steps_scale=0.002)
    assert torch.get_num_threads() == 2
    assert json.loads((tmp_path / "taesd-mini" / "training.json").read_text())["torch_threads"] == 1


@pytest.mark.slow
def test_parallel_build_orders_fine_tunes_after_their_base_and_matches_a_serial_build(tmp_path):
    lines = []
    cards = zoo_build.build_all(
        ["medvae-mini-ft", "medvae-mini", "taesd-mini"],
        jobs=2,
        root=tmp_path / "parallel",
        steps_scale=0.005,
        log=lines.append,
    )
    assert set(cards) == {"medvae-mini-ft", "medvae-mini", "taesd-mini"} and len(lines) == 3
    order = [ln.split()[2] for ln in lines]  # "[k/3] built zoo:NAME ..."
    assert order.index("zoo:medvae-mini") < order.index("zoo:medvae-mini-ft")
    assert cards["medvae-mini-ft"]["training"]["init_from"] == "medvae-mini"
    assert "_name_or_path" not in json.loads((tmp_path / "parallel" / "medvae-mini-ft" / "config.json").read_text())
    assert all(v["psnr"] > 0 for v in cards["taesd-mini"]["reconstruction"].values())
    serial = zoo_build.train(
        "taesd-mini", tmp_path / "serial", steps_scale=0.005
    )  # in this process, at its own threads
    weights = "diffusion_pytorch_model.safetensors"
    assert (serial / weights).read_bytes() == (tmp_path / "parallel" / "taesd-mini" / weights).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT)
def test_diagnose_runs_on_every_zoo_model(name, tmp_path):
    from latentgap.diagnose import diagnose
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    run_id = diagnose(
        DiagnosisSpec(f"zoo:{name}", "phantom-chest", profile="smoke", max_samples=60, device="cpu"), tmp_path
    )
    row = Store(tmp_path).gap_table().iloc[0]
    assert row.run_id == run_id and row.autoencoder == f"zoo:{name}" and np.isfinite(row.latent)
    if load_autoencoder(f"zoo:{name}").has_decoder:
        assert np.isfinite(row.gap) and np.isfinite(row.matched_gap)
    else:  # encoder-only: no reconstruction, so no gap (not a zero)
        assert np.isnan(row.reconstruction) and np.isnan(row.gap)


@pytest.mark.parametrize("name", ["null-s2d", "null-s2d-rot", "null-s2d-flow", "blur-f8"])
def test_controls_take_the_datas_channels_and_trained_aes_keep_theirs(name):
    """On grayscale data a control encodes the one channel (a lossless one then holds each pixel once, as the s2d
    arms do), under its own identity; an AE with trained weights is left as it is (grayscale repeated to RGB)."""
    rgb = load_autoencoder(f"zoo:{name}")
    gray = rgb.for_channels(1)
    assert rgb.for_channels(3) is rgb and gray.in_channels == 1 and gray.weights_hash != rgb.weights_hash
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        z = gray.encode(x)
        y = gray.decode(z)
    assert z.shape[1] == gray.latent_channels == (1 if name == "blur-f8" else 64)
    if name != "blur-f8":
        torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-5)
    taef2 = load_autoencoder("zoo:taef2")
    assert taef2.for_channels(1) is taef2
