"""Load an autoencoder from what the user has: a zoo name or a local diffusers folder.

Weights are identified by content hash (so a re-upload reuses cached latents). Only safetensors are read:
nothing from a file is ever executed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from latentgap.autoencoders.families import FAMILIES, Family, get_family
from latentgap.autoencoders.zoo import ZOO, get_zoo_model, is_built, zoo_path
from latentgap.errors import LatentgapError


@dataclass
class LoadedAutoencoder:
    name: str  # what the user asked for, e.g. "zoo:sd-vae-mini"
    family: Family
    model: object  # a diffusers autoencoder in eval mode
    weights_hash: str  # sha256 of the weights file(s), 16 hex digits
    source: str  # "zoo" | "diffusers-folder"
    config: dict

    @property
    def latent_channels(self) -> int:
        return int(self.config.get("latent_channels", self.family.latent_channels))

    @property
    def in_channels(self) -> int:
        return int(self.config.get("in_channels", self.family.in_channels))

    @property
    def downsampling_factor(self) -> int:
        return 2 ** (len(self.config.get("block_out_channels", [0] * 4)) - 1)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def file_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def detect_family(config: dict, override: str | None = None) -> Family:
    """Family of a diffusers config: class name + latent channels (SD vs SDXL share one: best guess)."""
    if override:
        return get_family(override)
    cls, ch = config.get("_class_name"), config.get("latent_channels")
    matches = [f for f in FAMILIES.values() if f.diffusers_class == cls and f.latent_channels == ch]
    if not matches:
        tried = ", ".join(f"{f.name} ({f.diffusers_class}, {f.latent_channels} ch)" for f in FAMILIES.values())
        raise LatentgapError(f"no known family matches {cls} with {ch} latent channels; tried: {tried}")
    return matches[0]


def _load_diffusers_folder(folder: Path, family_override: str | None):
    import diffusers

    config_file = folder / "config.json"
    weights = sorted(folder.glob("*.safetensors"))
    if not config_file.exists() or not weights:
        raise LatentgapError(
            f"{folder.name}: a diffusers autoencoder folder needs config.json and *.safetensors weights"
        )
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as e:
        raise LatentgapError(f"{folder.name}/config.json is not valid JSON ({e.msg}, line {e.lineno})") from None
    family = detect_family(config, family_override)
    cls = getattr(diffusers, family.diffusers_class)
    try:
        model = cls.from_pretrained(folder, local_files_only=True, use_safetensors=True, low_cpu_mem_usage=False)
    except (OSError, ValueError, RuntimeError) as e:
        raise LatentgapError(f"{folder.name}: could not load the weights ({str(e).splitlines()[0][:200]})") from None
    model.eval().requires_grad_(False)
    return model, family, config, file_hash(weights)


def load_autoencoder(name_or_path: str, family: str | None = None) -> LoadedAutoencoder:
    """`zoo:NAME`, a bare zoo NAME, or a local diffusers folder."""
    path = Path(name_or_path).expanduser()
    if name_or_path.startswith("zoo:") or (name_or_path in ZOO and not path.exists()):
        spec = get_zoo_model(name_or_path)
        if not is_built(spec.name):
            raise LatentgapError(
                f"zoo model {spec.name!r} has no weights in {zoo_path(spec.name)}; run `python -m latentgap zoo build`"
            )
        model, fam, config, h = _load_diffusers_folder(zoo_path(spec.name), family or spec.family)
        return LoadedAutoencoder(f"zoo:{spec.name}", fam, model, h, "zoo", config)
    if path.is_dir():
        model, fam, config, h = _load_diffusers_folder(path, family)
        return LoadedAutoencoder(str(name_or_path), fam, model, h, "diffusers-folder", config)
    raise LatentgapError(
        f"unknown autoencoder {name_or_path!r}: give a zoo name ({', '.join('zoo:' + n for n in ZOO)}; see "
        "`zoo list`) or a local diffusers folder holding config.json + *.safetensors"
    )
