"""Builds the embedded mini-zoo: trains each `zoo.ZOO` entry with its seeded recipe on the general-domain corpus
(`corpus.py`) or the embedded SYNTHETIC benchmarks, saves a diffusers folder under the zoo folder (weights as
safetensors) and writes a model card with the reconstruction quality measured on held-out data. `build_all()` rebuilds
several entries in parallel worker processes, each training on the one CPU thread its recipe names.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

from latentgap.autoencoders.zoo import ZOO, ZooModel, build_config, get_zoo_model, is_built, zoo_path
from latentgap.errors import LatentgapError
from latentgap.resources import zoo_dir


class BenchmarkSampler:
    """Random flipped 64 px images of every embedded SYNTHETIC benchmark, drawn with generation seed 1 (the
    diagnoses use seed 0, so fine-tuning never sees an image a diagnosis tests on). Same API as CorpusSampler."""

    def __init__(self, seed: int, n_per_benchmark: int = 600, size: int = 64):
        import numpy as np

        from latentgap.datasets import registry

        self.rng = np.random.default_rng(seed)
        synthetic = [name for name, b in registry.BENCHMARKS.items() if b.synthetic]  # never the real default
        images = [registry.load(b, size, n_images=n_per_benchmark, seed=1).images for b in synthetic]
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


def train(name: str, root: Path | None = None, steps_scale: float = 1.0) -> Path:
    """Train zoo model `name` with its seeded recipe (from scratch, or fine-tuned from `init_from`, read from the
    same `root`) into `root/NAME/`; returns that folder. `steps_scale` < 1 shortens the recipe (tests); the shipped
    weights use 1.0. Training runs on `recipe.threads` CPU threads, so a rebuild reproduces the shipped bits.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(get_zoo_model(name).recipe.threads)
    try:
        return _train(get_zoo_model(name), Path(root or zoo_dir()), steps_scale)
    finally:
        torch.set_num_threads(threads)


def _train(model_spec: ZooModel, root: Path, steps_scale: float) -> Path:
    import diffusers
    import torch
    from tqdm import tqdm

    from latentgap.autoencoders.families import get_family
    from latentgap.tools.corpus import CorpusSampler

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
        loss = family.training_loss(ae, x, recipe)  # L1 + image-gradient L1 + the family's regulariser
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    ae.eval()
    family.after_training(ae, sampler)  # FLUX.2 fits its latents' batch-norm statistics
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
    from latentgap.encode import encode_decode
    from latentgap.metrics import reconstruction_fidelity
    from latentgap.tools.corpus import CorpusSampler

    ae = load_autoencoder(str(folder) if folder else f"zoo:{name}", family=get_zoo_model(name).family)
    held_out = ((CorpusSampler(seed=10_000 + get_zoo_model(name).recipe.seed).batch(n, size) + 1) / 2).numpy()
    out = {
        "general-domain crops (held out)": reconstruction_fidelity(held_out, encode_decode(ae, held_out, 32, "cpu")[1])
    }
    for bench in [name for name, b in registry.BENCHMARKS.items() if b.synthetic]:
        images = registry.load(bench, size, n_images=n, seed=1).images  # seed 1: not the diagnosis data
        recon = encode_decode(ae, images, 32, "cpu")[1]
        out[f"{bench} ({size} px)"] = reconstruction_fidelity(images, recon)
    return {k: {m: round(v, 4) for m, v in d.items()} for k, d in out.items()}


def write_card(name: str, folder: Path | None = None) -> dict:
    """Measure and write the model card (card.json + README.md) next to the weights (default: the shipped zoo)."""
    from latentgap.tools.corpus import PHOTO_SOURCES

    folder = Path(folder) if folder else zoo_path(name)
    spec = get_zoo_model(name)
    training = json.loads((folder / "training.json").read_text())
    from latentgap.autoencoders.loading import load_autoencoder

    params = load_autoencoder(str(folder), family=spec.family).parameters
    card = dict(
        name=spec.name,
        family=spec.family,
        description=spec.description,
        parameters=params,
        training=training,
        data_sources=PHOTO_SOURCES,
        procedural_textures=True,
        reconstruction=evaluate(name, folder),
    )
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    lines = [
        f"# zoo:{spec.name}",
        "",
        spec.description,
        "",
        f"- family: `{spec.family}`; parameters: {params:,}",
        f"- trained by `python -m latentgap zoo build {spec.name}`: {training['steps']} steps, seed "
        f"{spec.recipe.seed}, {training['train_seconds']:.0f} s on CPU; recipe {asdict(spec.recipe)}",
        *_data_lines(spec),
        "",
        "| evaluation set | PSNR (dB) | SSIM |",
        "|---|---|---|",
        *[f"| {k} | {v['psnr']:.2f} | {v['ssim']:.3f} |" for k, v in card["reconstruction"].items()],
        "",
        "Benchmarks are SYNTHETIC (see `python -m latentgap data list`).",
    ]
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    return card


def _data_lines(spec: ZooModel) -> list[str]:
    from latentgap.tools.corpus import PHOTO_SOURCES

    lines = []
    if spec.init_from:
        lines.append(f"- fine-tuned from `zoo:{spec.init_from}` (whose card lists its general-domain training data)")
    if spec.data == "benchmarks":
        return lines + [
            "- fine-tuning data: the four embedded SYNTHETIC benchmarks (phantom-chest, -derm, -ct, -echo) at "
            "64 px, generated with seed 1 — never the seed-0 images that diagnoses test on; generated by "
            "this project's code (no patient data)"
        ]
    return lines + [
        "- training data (general domain, no medical images): random crops of the photographs below plus "
        "procedural textures (gratings, smooth noise, ellipses)",
        *[f"  - `{src}`: {lic}" for src, lic in PHOTO_SOURCES.items()],
    ]


def build(name: str, root: Path | None = None, steps_scale: float = 1.0) -> dict:
    """Train zoo model `name` with its seeded recipe into `root/NAME/`, then measure and write its card."""
    return write_card(name, train(name, root, steps_scale))


def build_all(names: list[str], jobs: int = 1, root: Path | None = None, steps_scale: float = 1.0, log=print) -> dict:
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
                log(
                    f"[{len(cards)}/{len(cards) + len(running) + len(pending)}] built zoo:{name} "
                    f"(train {cards[name]['training']['train_seconds']:.0f} s; {time.time() - started:.0f} s elapsed)"
                )
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
