"""The embedded mini-zoo: small autoencoders the project trains itself with a seeded recipe and ships.

Each entry is data (family, architecture overrides, training recipe). `build()` trains it on the
general-domain corpus (`datasets/corpus.py`), saves a diffusers folder under `data/zoo/NAME/` (weights as
safetensors) and writes a model card with the reconstruction quality measured on held-out data.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from latentgap.errors import LatentgapError

ZOO_DIR = Path(__file__).resolve().parents[2] / "data" / "zoo"


@dataclass(frozen=True)
class ZooRecipe:
    seed: int = 0
    steps_small: int = 3600  # steps at `crop_small` px (cheap, most of the learning)
    steps_large: int = 500  # then steps at `crop_large` px (the resolution the quick profile uses)
    crop_small: int = 32
    crop_large: int = 64
    batch_size: int = 16
    lr: float = 1e-3
    kl_weight: float = 1e-6
    grad_weight: float = 0.5  # L1 on image gradients keeps edges sharper than L1 alone


@dataclass(frozen=True)
class ZooModel:
    name: str
    family: str
    description: str
    config: dict  # diffusers config overrides on top of the family template
    recipe: ZooRecipe = field(default_factory=ZooRecipe)


ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in [
        ZooModel(
            name="sd-vae-mini",
            family="sd-vae",
            description="SD-architecture KL-f8 VAE, 4 latent channels, 3.9 M parameters, general-domain pretrained",
            config=dict(block_out_channels=[32, 64, 128, 128], layers_per_block=1, norm_num_groups=16, sample_size=64),
        ),
    ]
}

DEFAULT_AE = "zoo:sd-vae-mini"


def get_zoo_model(name: str) -> ZooModel:
    name = name.removeprefix("zoo:")
    if name not in ZOO:
        raise LatentgapError(f"unknown zoo model {name!r}; available: {', '.join(sorted(ZOO))} (see `zoo list`)")
    return ZOO[name]


def zoo_path(name: str) -> Path:
    return ZOO_DIR / get_zoo_model(name).name


def is_built(name: str) -> bool:
    return (zoo_path(name) / "diffusion_pytorch_model.safetensors").exists()


def build_config(model: ZooModel) -> dict:
    from latentgap.autoencoders.families import get_family

    return {**get_family(model.family).config_template, **model.config}


def train(name: str, out_dir: Path | None = None, steps_scale: float = 1.0) -> Path:
    """Train zoo model `name` from scratch with its seeded recipe; returns the saved diffusers folder.

    `steps_scale` < 1 shortens the recipe (tests); the shipped weights use 1.0.
    """
    import diffusers
    import torch
    from tqdm import tqdm

    from latentgap.autoencoders.families import get_family
    from latentgap.datasets.corpus import CorpusSampler

    model_spec = get_zoo_model(name)
    recipe = model_spec.recipe
    torch.manual_seed(recipe.seed)
    cls = getattr(diffusers, get_family(model_spec.family).diffusers_class)
    ae = cls(**build_config(model_spec))
    sampler = CorpusSampler(seed=recipe.seed)
    opt = torch.optim.AdamW(ae.parameters(), lr=recipe.lr, weight_decay=0.0)
    n_small, n_large = round(recipe.steps_small * steps_scale), round(recipe.steps_large * steps_scale)
    total = n_small + n_large
    sched = torch.optim.lr_scheduler.LambdaLR(  # 100-step warm-up, then cosine to 5 %
        opt, lambda s: min(1.0, (s + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * s / max(total, 1))))
    )
    started = time.time()
    ae.train()
    for step in tqdm(range(total), desc=f"train {model_spec.name}", unit="step"):
        x = sampler.batch(recipe.batch_size, recipe.crop_small if step < n_small else recipe.crop_large)
        posterior = ae.encode(x).latent_dist
        rec = ae.decode(posterior.sample()).sample
        loss = (rec - x).abs().mean() + recipe.kl_weight * posterior.kl().mean()
        for dim in (2, 3):
            loss = loss + recipe.grad_weight * (rec.diff(dim=dim) - x.diff(dim=dim)).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    out_dir = Path(out_dir) if out_dir else zoo_path(name)
    ae.eval()
    ae.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "training.json").write_text(
        json.dumps(
            {
                "zoo_model": model_spec.name,
                "family": model_spec.family,
                "recipe": asdict(recipe),
                "steps_scale": steps_scale,
                "steps": total,
                "train_seconds": round(time.time() - started, 1),
                "torch": torch.__version__,
                "diffusers": diffusers.__version__,
            },
            indent=2,
        )
    )
    return out_dir


def evaluate(name: str, folder: Path | None = None, n: int = 256, size: int = 64) -> dict:
    """Reconstruction PSNR/SSIM on held-out general-domain crops and on each embedded benchmark."""
    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.datasets import registry
    from latentgap.datasets.corpus import CorpusSampler
    from latentgap.encode import encode_decode
    from latentgap.metrics import reconstruction_fidelity

    ae = load_autoencoder(str(folder) if folder else f"zoo:{name}", family=get_zoo_model(name).family)
    held_out = ((CorpusSampler(seed=10_000 + get_zoo_model(name).recipe.seed).batch(n, size) + 1) / 2).numpy()
    out = {"general-domain crops (held out)": reconstruction_fidelity(held_out, encode_decode(ae, held_out, 32, "cpu")[1])}
    for bench in registry.BENCHMARKS:
        images = registry.load(bench, size, n_images=n, seed=1).images  # seed 1: not the diagnosis data
        recon = encode_decode(ae, images, 32, "cpu")[1]
        out[f"{bench} ({size} px)"] = reconstruction_fidelity(images, recon)
    return {k: {m: round(v, 4) for m, v in d.items()} for k, d in out.items()}


def write_card(name: str, folder: Path | None = None) -> dict:
    """Measure and write the model card (card.json + README.md) next to the weights."""
    from latentgap.datasets.corpus import PHOTO_SOURCES

    folder = Path(folder) if folder else zoo_path(name)
    spec = get_zoo_model(name)
    training = json.loads((folder / "training.json").read_text())
    from latentgap.autoencoders.loading import load_autoencoder

    params = load_autoencoder(str(folder), family=spec.family).parameters
    card = dict(name=spec.name, family=spec.family, description=spec.description, parameters=params,
                training=training, data_sources=PHOTO_SOURCES, procedural_textures=True,
                reconstruction=evaluate(name, folder))  # fmt: skip
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    lines = [
        f"# zoo:{spec.name}", "", spec.description, "",
        f"- family: `{spec.family}`; parameters: {params:,}",
        f"- trained by `python -m latentgap zoo build {spec.name}`: {training['steps']} steps, seed "
        f"{spec.recipe.seed}, {training['train_seconds']:.0f} s on CPU; recipe {asdict(spec.recipe)}",
        "- training data (general domain, no medical images): random crops of the photographs below plus "
        "procedural textures (gratings, smooth noise, ellipses)",
        *[f"  - `{src}`: {lic}" for src, lic in PHOTO_SOURCES.items()],
        "", "| evaluation set | PSNR (dB) | SSIM |", "|---|---|---|",
        *[f"| {k} | {v['psnr']:.2f} | {v['ssim']:.3f} |" for k, v in card["reconstruction"].items()],
        "", "Benchmarks are SYNTHETIC (see `python -m latentgap data list`).",
    ]  # fmt: skip
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    return card


def build(name: str) -> dict:
    """Train zoo model `name` with its seeded recipe, then measure and write its card."""
    train(name)
    return write_card(name)


def describe(name: str) -> dict:
    """Zoo entry for `zoo list`: name, family, description, whether built, and the card if written."""
    spec = get_zoo_model(name)
    card_file = zoo_path(name) / "card.json"
    card = json.loads(card_file.read_text()) if card_file.exists() else None
    return dict(name=spec.name, ref=f"zoo:{spec.name}", family=spec.family, description=spec.description,
                built=is_built(name), card=card)  # fmt: skip
