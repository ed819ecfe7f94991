"""User-supplied backbone weights: torchvision layouts map onto our ResNet / ConvNeXt; misfits stay random."""

import re

import pytest
import torch
from safetensors.torch import save_file

from latentgap import LatentgapError
from latentgap.classifiers.models import ConvNeXt, ResNet
from latentgap.classifiers.pretrained import load_backbone


def _torchvision_resnet_names(sd: dict) -> dict:
    """Our ResNet keys written back in torchvision's naming (conv1/bn1, layerI.J.convK/bnK, downsample, fc)."""
    out = {}
    for k, v in sd.items():
        k = k.replace("stem.0.", "conv1.").replace("stem.1.", "bn1.").replace("head.", "fc.")
        m = re.match(r"stages\.(\d)\.(\d+)\.(body\.(\d)|skip\.(\d))\.(.*)", k)
        if m:
            i, j = int(m[1]) + 1, m[2]
            if m[4] is not None:
                idx = int(m[4])
                k = f"layer{i}.{j}.{'conv' if idx % 3 == 0 else 'bn'}{idx // 3 + 1}.{m[6]}"
            else:
                k = f"layer{i}.{j}.downsample.{m[5]}.{m[6]}"
        out[k] = v
    return out


def _torchvision_convnext_names(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        k = re.sub(r"^stem\.", "features.0.", k)
        k = re.sub(r"^downsample\.(\d)\.", lambda m: f"features.{2 * int(m[1])}.", k)
        m = re.match(r"stages\.(\d)\.(\d+)\.(.*)", k)
        if m:
            sub = {"dwconv.": "block.0.", "norm.": "block.2.", "mlp.0.": "block.3.", "mlp.2.": "block.5."}
            rest = m[3]
            if rest == "gamma":
                rest, v = "layer_scale", v[:, None, None]  # torchvision keeps it as (C, 1, 1)
            for a, b in sub.items():
                rest = rest.replace(a, b) if rest.startswith(a) else rest
            k = f"features.{2 * int(m[1]) + 1}.{m[2]}.{rest}"
        k = re.sub(r"^norm\.", "classifier.0.", k).replace("head.", "classifier.2.")
        out[k] = v
    return out


def test_torchvision_resnet_weights_load_except_the_head(tmp_path):
    torch.manual_seed(1)
    source = ResNet(3, 1000, layers=(1, 1, 1, 1), width=16, block="bottleneck")
    save_file(
        {k: v.contiguous() for k, v in _torchvision_resnet_names(source.state_dict()).items()},
        str(tmp_path / "resnet.safetensors"),
    )
    torch.manual_seed(2)
    model = ResNet(3, 5, layers=(1, 1, 1, 1), width=16, block="bottleneck")
    report = load_backbone(model, tmp_path / "resnet.safetensors")
    for k, v in model.state_dict().items():
        if not k.startswith("head."):
            assert torch.equal(v, source.state_dict()[k]), k
    assert report["random_init"] == ["head.weight", "head.bias"] and 0.5 < report["loaded_fraction"] < 1


def test_torchvision_convnext_weights_with_a_replaced_stem(tmp_path):
    torch.manual_seed(1)
    source = ConvNeXt(3, 1000, depths=(1, 1, 2, 1), dims=(16, 32, 64, 128), stem_stride=4)
    torch.save(_torchvision_convnext_names(source.state_dict()), tmp_path / "convnext.pth")
    model = ConvNeXt(4, 3, depths=(1, 1, 2, 1), dims=(16, 32, 64, 128), stem_stride=1, film=True)
    report = load_backbone(model, tmp_path / "convnext.pth")
    assert torch.equal(model.stages[2][1].mlp[0].weight, source.stages[2][1].mlp[0].weight)
    assert torch.equal(model.downsample[3][1].weight, source.downsample[3][1].weight)
    assert torch.equal(model.stages[0][0].gamma, source.stages[0][0].gamma)
    assert "stem.0.weight" in report["random_init"] and "head.weight" in report["random_init"]
    assert not any(k.startswith("films.") for k in report["random_init"])  # FiLM is new by design, not a misfit


def test_weights_of_another_model_are_refused(tmp_path):
    save_file({"encoder.conv_in.weight": torch.zeros(8, 3, 3, 3)}, str(tmp_path / "vae.safetensors"))
    with pytest.raises(LatentgapError, match="fits only 0%"):
        load_backbone(ResNet(3, 2, layers=(1, 1, 1, 1), width=8, block="basic"), tmp_path / "vae.safetensors")


@pytest.mark.slow
def test_diagnose_with_backbone_weights_adds_random_init_ablations(tmp_path):
    from latentgap.diagnose import diagnose
    from latentgap.spec import PROFILES, DiagnosisSpec
    from latentgap.store import Store

    p = PROFILES["smoke"]
    torch.save(ResNet(3, 10, **p.image_model).state_dict(), tmp_path / "resnet.pth")
    save_file(ConvNeXt(3, 10, **p.latent_model).state_dict(), str(tmp_path / "convnext.safetensors"))
    spec = DiagnosisSpec(
        "zoo:sd-vae-mini",
        "phantom-chest",
        profile="smoke",
        max_samples=60,
        device="cpu",
        image_weights=str(tmp_path / "resnet.pth"),
        latent_weights=str(tmp_path / "convnext.safetensors"),
    )
    run_id = diagnose(spec, tmp_path / "home")
    store = Store(tmp_path / "home")
    spaces = set(store.results().arm)
    assert {"image-random-init", "latent-random-init", "image", "latent"} <= spaces
    summary = store.runs().iloc[0].summary
    assert "resnet.pth" in summary and "convnext.safetensors" in summary and str(tmp_path) not in summary
    assert store.run_spec(run_id)["spec"]["image_weights"].endswith("resnet.pth")


def test_a_tensor_of_the_same_size_but_another_shape_is_not_copied(tmp_path):
    from safetensors.torch import save_file

    from latentgap.classifiers.models import ResNet
    from latentgap.classifiers.pretrained import load_backbone

    model = ResNet(3, 2, layers=(1, 1, 1, 1), width=8, block="basic")
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    w = sd["stem.0.weight"]  # (8, 3, 7, 7): the same 1,176 values as (24, 49), another layout
    sd["stem.0.weight"] = torch.ones(w.shape[0] * w.shape[1], w.shape[2] * w.shape[3])
    save_file(sd, str(tmp_path / "w.safetensors"))
    report = load_backbone(ResNet(3, 2, layers=(1, 1, 1, 1), width=8, block="basic"), tmp_path / "w.safetensors")
    assert "stem.0.weight" in report["random_init"]
