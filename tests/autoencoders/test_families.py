"""The `Family` interface, over every registered family: a family file with a `tiny_config` is tested by existing.

Each family's tiny random model round-trips pixels, its state dict is detected as itself (or as the family it shares
an architecture with), its config.json as itself, and the zoo trainer's loss is a finite scalar with gradients.
No behaviour branches on a family's name outside the family's own file.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from latentgap.autoencoders.detection import detect
from latentgap.autoencoders.families import FAMILIES, in_detection_order
from latentgap.autoencoders.loading import detect_family
from latentgap.autoencoders.zoo import ZooRecipe

PACKAGE = Path(__file__).resolve().parents[2] / "latentgap"


def _tiny(family, seed: int = 0):
    torch.manual_seed(seed)
    return family.build_model(family.tiny_config()).eval()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_tiny_config_round_trips_pixels(name):
    family = FAMILIES[name]
    model = _tiny(family)
    assert sum(p.numel() for p in model.parameters()) < 20_000  # tiny: a few thousand parameters
    x = torch.rand(2, family.in_channels, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    f = family.factor(family.tiny_config())
    with torch.no_grad():
        z = family.encode(model, x, "prequant")
        assert z.shape[0] == 2 and z.shape[2:] == (32 // f, 32 // f) and torch.isfinite(z).all()
        y = family.decode(model, z)
    assert y.shape == x.shape and torch.isfinite(y).all()
    normalized = family.normalize(model, dict(model.config), z.numpy())
    if family.weightless and name != "blur":  # the null controls are lossless
        torch.testing.assert_close(y, x, atol=1e-5, rtol=1e-5)
    assert normalized.shape == tuple(z.shape) and normalized.dtype == np.float32 and np.isfinite(normalized).all()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_tiny_state_dict_and_config_are_recognised(name):
    family = FAMILIES[name]
    if family.intake != "diffusers":
        pytest.skip(f"{name} arrives as {family.intake}, not a diffusers config + state dict (own tests)")
    model = _tiny(family)
    found = detect({k: tuple(v.shape) for k, v in model.state_dict().items()})
    assert found.family.name == name or name in found.family.shares_architecture_with
    assert found.alternatives == found.family.shares_architecture_with
    assert detect_family({"_class_name": type(model).__name__, **model.config}) is family


@pytest.mark.parametrize("name", list(FAMILIES))
def test_training_loss_is_a_finite_scalar_with_gradients(name):
    family = FAMILIES[name]
    if family.weightless:
        pytest.skip(f"{name} is built from code: nothing to train")
    model = _tiny(family).train()
    x = torch.rand(2, family.in_channels, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    loss = family.training_loss(model, x, ZooRecipe())
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss) and any(p.grad is not None for p in model.parameters())


def test_detection_order_is_most_specific_first():
    order = [f.name for f in in_detection_order()]
    assert order == ["vq", "flux2-vae", "medvae", "dc-ae", "taesd", "flux1-vae", "sd-vae"]
    undetected = {n for n, f in FAMILIES.items() if f.intake == "diffusers"} - set(order)  # --family or config.json
    assert all(any(a in order for a in FAMILIES[n].shares_architecture_with) for n in undetected)


def test_no_family_name_branches_outside_the_family_files():
    pattern = re.compile(r"family\.name\s*[!=]=|\.latent_kind\s*==")
    hits = [
        f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[:2] != ("autoencoders", "families")
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == [], "behaviour belongs in the family's own file (a Family method):\n" + "\n".join(hits)
