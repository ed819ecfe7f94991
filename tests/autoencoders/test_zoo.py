"""The embedded mini-zoo: one model per family, shipped weights with cards, seeded builds, diagnosable."""

import json

import numpy as np
import pytest

from latentgap.autoencoders import zoo
from latentgap.autoencoders.families import FAMILIES
from latentgap.autoencoders.loading import load_autoencoder
from latentgap.encode import encode_decode

BUILT = [name for name in zoo.ZOO if zoo.is_built(name)]


def test_every_family_has_a_zoo_model_and_fine_tunes_name_their_base():
    assert {m.family for m in zoo.ZOO.values()} == set(FAMILIES)
    for m in zoo.ZOO.values():
        assert m.init_from is None or (m.init_from in zoo.ZOO and zoo.ZOO[m.init_from].family == m.family)
        assert m.data in ("corpus", "benchmarks")
    assert {m.family for m in zoo.ZOO.values() if m.init_from} >= {"medvae", "sd-vae"}  # the paper's fine-tuning


def test_every_zoo_model_is_shipped_with_a_card_and_the_zoo_is_small():
    assert BUILT == list(zoo.ZOO), f"not built: {sorted(set(zoo.ZOO) - set(BUILT))} (run `zoo build`)"
    total = sum(f.stat().st_size for f in zoo.ZOO_DIR.rglob("*.safetensors"))
    assert total < 50 * 2**20, f"zoo weights take {total / 2**20:.1f} MB"
    for name in BUILT:
        card = zoo.describe(name)["card"]
        assert card["family"] == zoo.ZOO[name].family and card["parameters"] > 0
        assert all(v["psnr"] > 10 for v in card["reconstruction"].values())
        assert (zoo.zoo_path(name) / "README.md").read_text().startswith(f"# zoo:{name}")


@pytest.mark.parametrize("name", BUILT)
def test_zoo_model_loads_and_encodes(name):
    ae = load_autoencoder(f"zoo:{name}")
    assert ae.family.name == zoo.ZOO[name].family and ae.parameters == zoo.describe(name)["card"]["parameters"]
    images = np.random.default_rng(0).uniform(size=(2, 1, 64, 64)).astype(np.float32)
    latents, recons = encode_decode(ae, images, 2, "cpu")
    f = ae.downsampling_factor
    assert latents.shape == (2, ae.latent_channels, 64 // f, 64 // f) and np.isfinite(latents).all()


def test_build_is_seeded_and_fine_tuning_starts_from_its_base(tmp_path):
    a = zoo.train("taesd-mini", tmp_path / "a", steps_scale=0.01)
    b = zoo.train("taesd-mini", tmp_path / "b", steps_scale=0.01)
    assert (a / "diffusion_pytorch_model.safetensors").read_bytes() == (b / "diffusion_pytorch_model.safetensors").read_bytes()
    ft = zoo.train("sd-vae-mini-ft", tmp_path / "ft", steps_scale=0.004)
    meta = json.loads((ft / "training.json").read_text())
    assert meta["init_from"] == "sd-vae-mini" and meta["data"] == "benchmarks" and meta["steps"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", BUILT)
def test_diagnose_runs_on_every_zoo_model(name, tmp_path):
    from latentgap.diagnose import diagnose
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    run_id = diagnose(DiagnosisSpec(f"zoo:{name}", "phantom-chest", profile="smoke", max_samples=60, device="cpu"),
                      tmp_path)  # fmt: skip
    row = Store(tmp_path).gap_table().iloc[0]
    assert row.run_id == run_id and row.autoencoder == f"zoo:{name}" and np.isfinite(row.gap)
