"""The embedded mini-zoo: small autoencoders the project trains itself with a seeded recipe and ships.

Each entry is data (family, architecture overrides, training recipe). `build()` trains it on the
general-domain corpus (`datasets/corpus.py`), saves a diffusers folder under `data/zoo/NAME/` (weights as
safetensors) and writes a model card with the reconstruction quality measured on held-out data. `build_all()`
rebuilds several entries in parallel worker processes, each training on the one CPU thread its recipe names.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from latentgap.errors import LatentgapError

ZOO_DIR = Path(__file__).resolve().parents[2] / "data" / "zoo"


@dataclass(frozen=True)
class ZooRecipe:
    seed: int = 0
    steps_small: int = 2000  # steps at `crop_small` px (cheap, most of the learning)
    steps_large: int = 400  # then steps at `crop_large` px (the resolution the quick profile uses)
    crop_small: int = 32
    crop_large: int = 64
    batch_size: int = 16
    lr: float = 1e-3
    kl_weight: float = 1e-6
    grad_weight: float = 0.5  # L1 on image gradients keeps edges sharper than L1 alone
    threads: int = 1  # CPU threads while training: the weights are bit-identical only at the same thread count


@dataclass(frozen=True)
class ZooModel:
    name: str
    family: str
    description: str
    config: dict  # diffusers config overrides on top of the family template
    recipe: ZooRecipe = field(default_factory=ZooRecipe)
    init_from: str | None = None  # fine-tune: start from this zoo model's weights ...
    data: str = "corpus"  # ... on "corpus" (general-domain photographs) or "benchmarks" (embedded SYNTHETIC phantoms)


KL_MINI = dict(block_out_channels=[32, 64, 128, 128], layers_per_block=1, norm_num_groups=16, sample_size=64)
KL_SMALL = dict(block_out_channels=[16, 32, 64, 64], layers_per_block=1, norm_num_groups=16, sample_size=64)  # ~1 M
SHORT = ZooRecipe(steps_small=500, steps_large=100)  # ~3 min on a 2-core CPU: the rest of the zoo stays cheap
FINE_TUNE = ZooRecipe(steps_small=0, steps_large=250, lr=2e-4)  # medical fine-tuning at the quick resolution

ZOO: dict[str, ZooModel] = {
    m.name: m
    for m in [
        ZooModel("sd-vae-mini", "sd-vae", "SD-architecture KL-f8 VAE, 4 latent channels, 3.9 M parameters, "
                 "general-domain pretrained", KL_MINI),
        ZooModel("sdxl-vae-mini", "sdxl-vae", "SDXL-architecture KL-f8 VAE (same layout as SD, own training run), "
                 "4 latent channels, half the width of sd-vae-mini", KL_SMALL, replace(SHORT, seed=1)),
        ZooModel("flux1-vae-mini", "flux1-vae", "FLUX.1-architecture KL-f8 VAE, 16 latent channels, no quant convs",
                 {**KL_MINI, "latent_channels": 16, "use_quant_conv": False, "use_post_quant_conv": False}, SHORT),
        ZooModel("sd3-vae-mini", "sd3-vae", "SD3-architecture KL-f8 VAE, 16 latent channels, no quant convs, half "
                 "the width of flux1-vae-mini", {**KL_SMALL, "latent_channels": 16, "use_quant_conv": False,
                                                 "use_post_quant_conv": False}, replace(SHORT, seed=1)),
        ZooModel("flux2-vae-mini", "flux2-vae", "FLUX.2-architecture KL-f8 VAE, 32 latent channels, batch-norm "
                 "statistics over 2x2 patches", {**KL_SMALL, "latent_channels": 32}, SHORT),
        ZooModel("medvae-mini", "medvae", "MedVAE-architecture 4x1 (f4, 1 latent channel, 1-channel input) KL AE "
                 "with its channel-projection head, general-domain pretrained (grayscale)",
                 dict(ch=16, ch_mult=[1, 2, 4], num_res_blocks=1, norm_num_groups=16), SHORT),
        ZooModel("medvae-mini-ft", "medvae", "medvae-mini fine-tuned on the embedded SYNTHETIC benchmarks (the paper's "
                 "'MedVAE fine-tuned')", dict(ch=16, ch_mult=[1, 2, 4], num_res_blocks=1, norm_num_groups=16),
                 FINE_TUNE, init_from="medvae-mini", data="benchmarks"),
        ZooModel("sd-vae-mini-ft", "sd-vae", "sd-vae-mini fine-tuned on the embedded SYNTHETIC benchmarks", KL_MINI,
                 FINE_TUNE, init_from="sd-vae-mini", data="benchmarks"),
        ZooModel("dc-ae-mini", "dc-ae", "DC-AE-architecture f32 deep-compression AE, 32 latent channels",
                 dict(encoder_block_out_channels=[16, 32, 64, 64, 128, 128], decoder_block_out_channels=[16, 32, 64, 64, 128, 128],
                      encoder_layers_per_block=[1, 1, 1, 1, 1, 1], decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
                      encoder_block_types=["ResBlock"] * 4 + ["EfficientViTBlock"] * 2,
                      decoder_block_types=["ResBlock"] * 4 + ["EfficientViTBlock"] * 2, attention_head_dim=16,
                      encoder_qkv_multiscales=[[], [], [], [], [5], [5]], decoder_qkv_multiscales=[[], [], [], [], [5], [5]],
                      decoder_norm_types="rms_norm", decoder_act_fns="silu", upsample_block_type="pixel_shuffle",
                      downsample_block_type="pixel_unshuffle"), SHORT),
        ZooModel("taesd-mini", "taesd", "TAESD-architecture tiny AE, f8, 4 latent channels",
                 dict(encoder_block_out_channels=[32, 32, 32, 32], decoder_block_out_channels=[32, 32, 32, 32],
                      num_encoder_blocks=[1, 2, 2, 2], num_decoder_blocks=[2, 2, 2, 1]), SHORT),
        ZooModel("vq-f4-mini", "vq", "VQ-f4 (LDM VQ-GAN architecture), 3 latent channels, 1,024 codes",
                 dict(block_out_channels=[32, 64, 128], layers_per_block=1, norm_num_groups=16, num_vq_embeddings=1024,
                      vq_embed_dim=3, sample_size=64), SHORT),
    ]
}  # fmt: skip

DEFAULT_AE = "zoo:sd-vae-mini"


def get_zoo_model(name: str) -> ZooModel:
    name = name.removeprefix("zoo:")
    if name not in ZOO:
        raise LatentgapError(f"unknown zoo model {name!r}; available: {', '.join(sorted(ZOO))} (see `zoo list`)")
    return ZOO[name]


def zoo_path(name: str) -> Path:
    return ZOO_DIR / get_zoo_model(name).name


def is_built(name: str, root: Path = ZOO_DIR) -> bool:
    return (Path(root) / get_zoo_model(name).name / "diffusion_pytorch_model.safetensors").exists()


def build_config(model: ZooModel) -> dict:
    from latentgap.autoencoders.families import get_family

    return {**get_family(model.family).config_template(), **model.config}


class BenchmarkSampler:
    """Random flipped 64 px images of every embedded SYNTHETIC benchmark, drawn with generation seed 1 (the
    diagnoses use seed 0, so fine-tuning never sees an image a diagnosis tests on). Same API as CorpusSampler."""

    def __init__(self, seed: int, n_per_benchmark: int = 600, size: int = 64):
        import numpy as np

        from latentgap.datasets import registry

        self.rng = np.random.default_rng(seed)
        images = [registry.load(b, size, n_images=n_per_benchmark, seed=1).images for b in registry.BENCHMARKS]
        self.images = np.concatenate([np.repeat(im, 3, axis=1) if im.shape[1] == 1 else im for im in images])

    def batch(self, batch_size: int, size: int):
        import torch

        idx = self.rng.integers(0, len(self.images), batch_size)
        x = torch.from_numpy(self.images[idx]) * 2 - 1
        if size != x.shape[-1]:
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        return torch.where(torch.from_numpy(self.rng.random(batch_size) < 0.5)[:, None, None, None], x.flip(3), x)


def save_weights(ae, out_dir: Path) -> None:
    """Save as a diffusers folder with float16 weights: the zoo ships inside the repo (50 MB budget); loading
    casts back to float32, and float16 rounding (~3 significant digits) is far below the models' error."""
    import torch

    ae.to(torch.float16).save_pretrained(out_dir, safe_serialization=True)
    ae.to(torch.float32)
    config = json.loads((Path(out_dir) / "config.json").read_text())
    if config.pop("_name_or_path", None):  # a fine-tune's base folder: a path on the machine that built it
        (Path(out_dir) / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def _reconstruction_loss(ae, family, x, recipe: ZooRecipe):
    """L1 + image-gradient L1 + the family's regulariser (KL for KL AEs, commitment for VQ)."""
    from latentgap.autoencoders.families import LATENT_KINDS

    reg = 0.0
    if family.latent_kind == "kl":
        posterior = ae.encode(x).latent_dist
        rec = ae.decode(posterior.sample()).sample
        reg = recipe.kl_weight * posterior.kl().mean()
    elif family.latent_kind == "vq":
        out = ae.decode(ae.encode(x).latents)  # quantises; straight-through gradients
        rec, reg = out.sample, out.commit_loss.mean()
    else:
        encode, decode = LATENT_KINDS[family.latent_kind]
        rec = decode(ae, encode(ae, x, None))
    loss = (rec - x).abs().mean() + reg
    for dim in (2, 3):
        loss = loss + recipe.grad_weight * (rec.diff(dim=dim) - x.diff(dim=dim)).abs().mean()
    return loss


def _fit_batch_norm(ae, sampler, batches: int = 32, batch_size: int = 16, size: int = 64) -> None:
    """FLUX.2 keeps batch-norm statistics of its 2x2-patchified latents: estimate them from training data."""
    import torch

    ph, pw = ae.config.patch_size
    ae.bn.reset_running_stats()
    ae.bn.momentum = None  # cumulative average over the batches
    ae.bn.train()
    with torch.no_grad():
        for _ in range(batches):
            z = ae.encode(sampler.batch(batch_size, size)).latent_dist.mode()
            n, c, h, w = z.shape
            p = (
                z.view(n, c, h // ph, ph, w // pw, pw)
                .permute(0, 1, 3, 5, 2, 4)
                .reshape(n, c * ph * pw, h // ph, w // pw)
            )
            ae.bn(p)
    ae.bn.momentum = ae.config.batch_norm_momentum


def train(name: str, root: Path = ZOO_DIR, steps_scale: float = 1.0) -> Path:
    """Train zoo model `name` with its seeded recipe (from scratch, or fine-tuned from `init_from`, read from the
    same `root`) into `root/NAME/`; returns that folder. `steps_scale` < 1 shortens the recipe (tests); the shipped
    weights use 1.0. Training runs on `recipe.threads` CPU threads, so a rebuild reproduces the shipped bits.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(get_zoo_model(name).recipe.threads)
    try:
        return _train(get_zoo_model(name), Path(root), steps_scale)
    finally:
        torch.set_num_threads(threads)


def _train(model_spec: ZooModel, root: Path, steps_scale: float) -> Path:
    import diffusers
    import torch
    from tqdm import tqdm

    from latentgap.autoencoders.families import get_family
    from latentgap.datasets.corpus import CorpusSampler

    recipe, family = model_spec.recipe, get_family(model_spec.family)
    torch.set_flush_denormal(True)  # decaying weights turn denormal and slow CPU steps ~50x (measured on vq-f4-mini)
    torch.manual_seed(recipe.seed)
    if model_spec.init_from:
        if not is_built(model_spec.init_from, root):
            raise LatentgapError(f"{model_spec.name} fine-tunes {model_spec.init_from}: build that first")
        ae = family.build_class().from_pretrained(root / model_spec.init_from, local_files_only=True)
    else:
        ae = family.build_model(build_config(model_spec))
    sampler = BenchmarkSampler(recipe.seed) if model_spec.data == "benchmarks" else CorpusSampler(seed=recipe.seed)
    gray = ae.config.in_channels == 1
    opt = torch.optim.AdamW(ae.parameters(), lr=recipe.lr, weight_decay=0.0)
    n_small, n_large = round(recipe.steps_small * steps_scale), round(recipe.steps_large * steps_scale)
    total = n_small + n_large
    warmup = 0 if model_spec.init_from else 100
    sched = torch.optim.lr_scheduler.LambdaLR(  # warm-up from scratch, then cosine to 5 %
        opt,
        lambda s: (
            min(1.0, (s + 1) / max(warmup, 1)) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * s / max(total, 1))))
        ),
    )
    started = time.time()
    ae.train()
    for step in tqdm(range(total), desc=f"train {model_spec.name}", unit="step"):
        x = sampler.batch(recipe.batch_size, recipe.crop_small if step < n_small else recipe.crop_large)
        if gray:
            x = x.mean(1, keepdim=True)
        loss = _reconstruction_loss(ae, family, x, recipe)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    ae.eval()
    if family.name == "flux2-vae":
        _fit_batch_norm(ae, sampler)
    ae.eval()
    out_dir = root / model_spec.name
    save_weights(ae, out_dir)
    (out_dir / "training.json").write_text(
        json.dumps(
            {
                "zoo_model": model_spec.name,
                "family": model_spec.family,
                "init_from": model_spec.init_from,
                "data": model_spec.data,
                "recipe": asdict(recipe),
                "steps_scale": steps_scale,
                "steps": total,
                "train_seconds": round(time.time() - started, 1),
                "torch_threads": torch.get_num_threads(),
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
    out = {
        "general-domain crops (held out)": reconstruction_fidelity(held_out, encode_decode(ae, held_out, 32, "cpu")[1])
    }
    for bench in registry.BENCHMARKS:
        images = registry.load(bench, size, n_images=n, seed=1).images  # seed 1: not the diagnosis data
        recon = encode_decode(ae, images, 32, "cpu")[1]
        out[f"{bench} ({size} px)"] = reconstruction_fidelity(images, recon)
    return {k: {m: round(v, 4) for m, v in d.items()} for k, d in out.items()}


def write_card(name: str, folder: Path | None = None) -> dict:
    """Measure and write the model card (card.json + README.md) next to the weights (default: the shipped zoo)."""
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
        *_data_lines(spec),
        "", "| evaluation set | PSNR (dB) | SSIM |", "|---|---|---|",
        *[f"| {k} | {v['psnr']:.2f} | {v['ssim']:.3f} |" for k, v in card["reconstruction"].items()],
        "", "Benchmarks are SYNTHETIC (see `python -m latentgap data list`).",
    ]  # fmt: skip
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    return card


def _data_lines(spec: ZooModel) -> list[str]:
    from latentgap.datasets.corpus import PHOTO_SOURCES

    lines = []
    if spec.init_from:
        lines.append(f"- fine-tuned from `zoo:{spec.init_from}` (whose card lists its general-domain training data)")
    if spec.data == "benchmarks":
        return lines + ["- fine-tuning data: the four embedded SYNTHETIC benchmarks (phantom-chest, -derm, -ct, -echo) at "
                        "64 px, generated with seed 1 — never the seed-0 images that diagnoses test on; generated by "
                        "this project's code (no patient data)"]  # fmt: skip
    return lines + ["- training data (general domain, no medical images): random crops of the photographs below plus "
                    "procedural textures (gratings, smooth noise, ellipses)",
                    *[f"  - `{src}`: {lic}" for src, lic in PHOTO_SOURCES.items()]]  # fmt: skip


def build(name: str, root: Path = ZOO_DIR, steps_scale: float = 1.0) -> dict:
    """Train zoo model `name` with its seeded recipe into `root/NAME/`, then measure and write its card."""
    return write_card(name, train(name, root, steps_scale))


def build_all(names: list[str], jobs: int = 1, root: Path = ZOO_DIR, steps_scale: float = 1.0, log=print) -> dict:
    """Build `names` with `jobs` worker processes (one CPU thread each when jobs > 1), longest recipe first and each
    fine-tune once its base is built; returns {name: card}. Weights do not depend on `jobs` (see ZooRecipe.threads).
    """
    import concurrent.futures as cf
    import multiprocessing

    pending = sorted({get_zoo_model(n).name for n in names}, key=lambda n: (-_recipe_cost(ZOO[n]), n))
    cards, running, started = {}, {}, time.time()
    threads = 1 if jobs > 1 else (os.cpu_count() or 1)  # for the cards' evaluation; training pins its own
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch's thread pools
    with cf.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init, initargs=(threads, jobs > 1)) as pool:
        while pending or running:
            for name in [n for n in pending if ZOO[n].init_from not in pending + list(running.values())]:
                if len(running) < jobs:
                    running[pool.submit(build, name, root, steps_scale)] = name
                    pending.remove(name)
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                if future.exception():
                    log(f"zoo:{name} failed; waiting for {len(running)} running build(s) to finish")
                cards[name] = future.result()
                log(f"[{len(cards)}/{len(cards) + len(running) + len(pending)}] built zoo:{name} "
                    f"(train {cards[name]['training']['train_seconds']:.0f} s; {time.time() - started:.0f} s elapsed)")  # fmt: skip
    return cards


def _recipe_cost(model: ZooModel) -> int:
    """Pixels pushed through training: orders the build so the longest recipe starts first."""
    r = model.recipe
    return r.steps_small * r.crop_small**2 + r.steps_large * r.crop_large**2


def _worker_init(threads: int, quiet: bool) -> None:
    """Parallel workers share one terminal: no progress bars or library warnings, `build_all` logs each model."""
    if quiet:
        os.environ["TQDM_DISABLE"] = "1"  # read by tqdm when it is first imported: before torch and diffusers
    import diffusers
    import torch

    torch.set_num_threads(threads)
    if quiet:
        diffusers.utils.logging.set_verbosity_error()


def describe(name: str) -> dict:
    """Zoo entry for `zoo list`: name, family, description, whether built, and the card if written."""
    spec = get_zoo_model(name)
    card_file = zoo_path(name) / "card.json"
    card = json.loads(card_file.read_text()) if card_file.exists() else None
    return dict(name=spec.name, ref=f"zoo:{spec.name}", family=spec.family, description=spec.description,
                built=is_built(name), card=card)  # fmt: skip
