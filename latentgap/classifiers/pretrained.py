"""User-supplied backbone weights for the classifiers (the paper starts from ImageNet weights; offline we cannot
download them, so random init is the default and a weight file is optional).

Accepted: our own key layout, or torchvision's `resnet*` / `convnext_tiny` state dicts (renamed below: torchvision
does not install beside the CPU torch here, so we map its names rather than import it). Files are read with the
autoencoder loader's safe reader (safetensors, or torch.load with weights_only). Tensors whose shape does not
fit (the class head; a stem replaced for latent channels) stay randomly initialised, and the report says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn as nn

from latentgap.errors import LatentgapError

# torchvision name -> our name, applied in order (first match wins)
TORCHVISION_RENAMES = [
    (r"^conv1\.", "stem.0."),
    (r"^bn1\.", "stem.1."),
    (r"^layer(\d)\.(\d+)\.conv(\d)\.", lambda m: f"stages.{int(m[1]) - 1}.{m[2]}.body.{(int(m[3]) - 1) * 3}."),
    (r"^layer(\d)\.(\d+)\.bn(\d)\.", lambda m: f"stages.{int(m[1]) - 1}.{m[2]}.body.{(int(m[3]) - 1) * 3 + 1}."),
    (r"^layer(\d)\.(\d+)\.downsample\.", lambda m: f"stages.{int(m[1]) - 1}.{m[2]}.skip."),
    (r"^fc\.", "head."),
    (r"^features\.0\.", "stem."),
    (r"^features\.([1357])\.(\d+)\.block\.0\.", lambda m: f"stages.{int(m[1]) // 2}.{m[2]}.dwconv."),
    (r"^features\.([1357])\.(\d+)\.block\.2\.", lambda m: f"stages.{int(m[1]) // 2}.{m[2]}.norm."),
    (r"^features\.([1357])\.(\d+)\.block\.3\.", lambda m: f"stages.{int(m[1]) // 2}.{m[2]}.mlp.0."),
    (r"^features\.([1357])\.(\d+)\.block\.5\.", lambda m: f"stages.{int(m[1]) // 2}.{m[2]}.mlp.2."),
    (r"^features\.([1357])\.(\d+)\.layer_scale$", lambda m: f"stages.{int(m[1]) // 2}.{m[2]}.gamma"),
    (r"^features\.([246])\.", lambda m: f"downsample.{int(m[1]) // 2}."),
    (r"^classifier\.0\.", "norm."),
    (r"^classifier\.2\.", "head."),
]


def to_our_names(sd: dict) -> dict:
    out = {}
    for key, value in sd.items():
        for pattern, repl in TORCHVISION_RENAMES:
            new = re.sub(pattern, repl, key)
            if new != key:
                key = new
                break
        out[key] = value
    return out


def load_backbone(model: nn.Module, path: str | Path) -> dict:
    """Copy every tensor of the file that fits `model` (same name, same shape up to singleton dimensions, e.g.
    torchvision's (C, 1, 1) layer scales); returns a report."""
    from latentgap.autoencoders.loading import check_finite, file_hash, read_checkpoint, unwrap_state_dict

    path = Path(path).expanduser()
    if not path.is_file():
        raise LatentgapError(f"classifier weights {path} not found; give a .safetensors or .pth state dict")
    sd, _ = unwrap_state_dict(read_checkpoint(path)[0], path.name)
    check_finite(sd, path.name)
    sd = to_our_names(sd)
    new_by_design = ("films.", "noise_embedding.")  # FiLM conditioning has no pretrained counterpart
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(new_by_design)}
    loaded, skipped = {}, []
    for key, target in own.items():
        src = sd.get(key)
        if (
            src is not None
            and _same_shape(src, target)
            and src.dtype.is_floating_point == target.dtype.is_floating_point
        ):
            loaded[key] = src.reshape(target.shape).to(target.dtype)
        elif not key.endswith("num_batches_tracked"):
            skipped.append(key)
    matched = sum(t.numel() for t in loaded.values()) / max(sum(t.numel() for t in own.values()), 1)
    if matched < 0.5:
        raise LatentgapError(
            f"{path.name} fits only {matched:.0%} of the {type(model).__name__}'s weights (e.g. it "
            f"lacks {skipped[:2]}); give ResNet / ConvNeXt weights in torchvision or latentgap layout"
        )
    with torch.no_grad():
        model.load_state_dict(loaded, strict=False)
    return dict(source=path.name, hash=file_hash([path]), loaded_fraction=round(matched, 4), random_init=skipped[:20])


def _same_shape(src: torch.Tensor, target: torch.Tensor) -> bool:
    """Equal shapes once size-1 dimensions are dropped: never a reshape of a kernel into another layout."""
    return tuple(d for d in src.shape if d != 1) == tuple(d for d in target.shape if d != 1)
