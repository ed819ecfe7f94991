"""Latent vs image classifier: training and inference throughput (data loading included) and peak memory.

The models are the ones `diagnose` builds (`arms.build_model` over `arms.ARMS`): the paper's ResNet-50 on 256 px
images against its FiLM ConvNeXt-Tiny on 64x64 latents of 4, 16 and 32 channels (SD / FLUX.1 / FLUX.2 at
512 px), and the quick profile's pair (64 px images vs the 4x8x8 latents of zoo:sd-vae-mini). One step is
`fit`'s step: batch loaded -> augmented -> (noise for the latent arm) -> forward -> LDAM loss -> backward -> Adam.

Data loading is part of every step: the image side decodes PNG files and augments them (flip + rotation, as
`fit` does); the latent side reads latents from the encode cache (one `.npz`, read once, as `diagnose`
does) and masks 20 % of values. Each case runs in a fresh process so peak-memory figures do not mix.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

PAPER_THROUGHPUT, PAPER_MEMORY = 64.0, 120.0  # the paper's claimed gains of latent over image classifiers


@dataclass(frozen=True)
class Case:
    name: str
    profile: str  # "paper" | "quick": which profile's models (spec.PROFILES)
    arm: str  # "image" | "latent-film" (arms.ARMS)
    shape: tuple[int, int, int]  # one input (C, H, W) as the classifier sees it
    source: str  # "png": decoded image files; "cache": an encode-cache .npz


PAPER_CASES = (
    Case("paper-image-resnet50-256px", "paper", "image", (3, 256, 256), "png"),
    Case("paper-latent-film-convnext-tiny-4x64x64", "paper", "latent-film", (4, 64, 64), "cache"),
    Case("paper-latent-film-convnext-tiny-16x64x64", "paper", "latent-film", (16, 64, 64), "cache"),
    Case("paper-latent-film-convnext-tiny-32x64x64", "paper", "latent-film", (32, 64, 64), "cache"),
)
QUICK_CASES = (
    Case("quick-image-resnet-64px", "quick", "image", (3, 64, 64), "png"),
    Case("quick-latent-film-convnext-4x8x8", "quick", "latent-film", (4, 8, 8), "cache"),
)
INCLUDES = (
    "Image side: each batch is decoded from PNG files, standardised, flipped and rotated (fit's image "
    "augmentation), then a ResNet step. Latent side: each batch is read from the encode cache (loaded once per "
    "run, as diagnose does), 20 % of values masked, EDM noise added, then a FiLM ConvNeXt step told σ. Same batch "
    "size on both sides; memory is CUDA max-allocated on GPU, and on CPU the tensor memory of a training step "
    "(weights, gradients, Adam moments, the input batch and every distinct activation saved for backward; "
    "the peak-RSS delta of a fresh process is reported beside it)."
)


# --- data: written once by the parent, read by every case -------------------------------------------------------
def prepare_data(workdir: Path, n_pool: int, device: str, seed: int = 0) -> dict:
    """PNG folders of phantom-chest at 256 and 64 px, the quick pair's real sd-vae-mini latents (via the encode
    cache) and cache files of the paper's latent shapes (random values: only the shape costs)."""
    from PIL import Image

    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.cache import atomic_savez
    from latentgap.datasets import registry
    from latentgap.encode import cached_encode

    paths = {}
    for size in (256, 64):
        data = registry.load("phantom-chest", size, n_pool, seed=seed, cache_dir=workdir / "datasets")
        folder = workdir / f"png-{size}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(data.images):
            Image.fromarray((img[0] * 255).round().astype(np.uint8)).save(folder / f"{i:05d}.png")
        np.save(folder / "labels.npy", data.labels)
        paths[f"png-{size}"] = str(folder)
        if size == 64:
            ae = load_autoencoder("zoo:sd-vae-mini")
            key = f"{ae.weights_hash}-{data.fingerprint}-64px"
            cached_encode(ae, data.images, key, workdir / "latents", 32, device)
            paths["cache-4x8x8"] = str(workdir / "latents" / f"{key}.npz")
    rng = np.random.default_rng(seed)
    for c in (4, 16, 32):
        path = workdir / "latents" / f"synthetic-{c}x64x64.npz"
        atomic_savez(path, latents=rng.standard_normal((n_pool, c, 64, 64), dtype=np.float32))
        paths[f"cache-{c}x64x64"] = str(path)
    paths["labels"] = str(workdir / "png-64" / "labels.npy")
    return paths


class PngBatches:
    """Batches decoded from PNG files at each call: (B, 3, S, S) standardised float32."""

    def __init__(self, folder: str):
        self.files = sorted(Path(folder).glob("*.png"))

    def __call__(self, start: int, batch: int):
        import torch
        from PIL import Image

        from latentgap.arms import _classifier_input

        files = [self.files[(start + i) % len(self.files)] for i in range(batch)]
        x = np.stack([np.asarray(Image.open(f), dtype=np.float32)[None] / 255 for f in files])
        return _classifier_input(x, x.shape[-1], 0.5, 0.25).to(torch.float32)


class CacheBatches:
    """Batches read from an encode-cache file (loaded once), normalised per channel as diagnose does."""

    def __init__(self, path: str):
        from latentgap.cache import load_npz
        from latentgap.encode import normalize_latents

        z = load_npz(Path(path))["latents"]
        self.z = normalize_latents(z, np.arange(len(z)))[0]

    def __call__(self, start: int, batch: int):
        import torch

        idx = (start + np.arange(batch)) % len(self.z)
        return torch.from_numpy(self.z[idx])


# --- one case, in a fresh process -------------------------------------------------------------------------------
def _saved_activation_bytes(step, params) -> int:
    """Bytes of distinct storages autograd saves for backward during `step()`, parameters excluded."""
    import torch

    skip = {p.untyped_storage().data_ptr() for p in params}
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            seen[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


def run_case(case: Case, paths: dict, batch: int, reps: int, warmup: int, device: str) -> dict:
    """Throughput (samples/s) of inference and training steps, peak memory and forward FLOPs of one case."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from latentgap.arms import ARMS, build_model
    from latentgap.classifiers.train import LDAMLoss, _augment, _forward, predict_logits
    from latentgap.noise import karras_sigmas
    from latentgap.spec import DiagnosisSpec, get_profile
    from latentgap.tools.bench.measure import max_rss_mb, per_second, repeat, sync

    c, h, w = case.shape
    key = f"png-{h}" if case.source == "png" else f"cache-{c}x{h}x{w}"
    load = PngBatches(paths[key]) if case.source == "png" else CacheBatches(paths[key])
    labels = np.load(paths["labels"])
    n_classes = int(labels.max() + 1)
    profile = get_profile(case.profile)
    arm = ARMS[case.arm]
    base_rss = max_rss_mb()
    model = build_model(arm, DiagnosisSpec("bench", "bench", profile=case.profile), profile, c, n_classes, {})
    model.to(device)
    model.noise_trained = arm.noise
    cfg = replace(profile.train, augment="latent" if arm.input == "latent" else "image")
    gen = torch.Generator().manual_seed(0)
    sigmas = torch.as_tensor(karras_sigmas(profile.noise_levels), dtype=torch.float32)
    sigmas = sigmas[sigmas <= profile.train_sigma_max]
    counter = iter(range(10**9))

    def infer():
        predict_logits(model, load(next(counter) * batch, batch), device, batch_size=batch)

    # --- inference -------------------------------------------------------------------------------------------
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    infer_times = repeat(infer, reps, warmup, device)
    out = dict(case=asdict(case), parameters=sum(p.numel() for p in model.parameters()))
    out["infer_throughput"] = per_second(infer_times, batch, "samples/s")
    out["peak_rss_infer_mb"] = max_rss_mb() - base_rss
    if device == "cuda":
        out["cuda_max_allocated_infer_mb"] = torch.cuda.max_memory_allocated() / 2**20

    # --- training --------------------------------------------------------------------------------------------
    criterion = LDAMLoss(np.bincount(labels, minlength=n_classes)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def train():
        i = next(counter)
        xb = _augment(load(i * batch, batch).to(device), cfg, gen)
        yb = torch.from_numpy(labels[(i * batch + np.arange(batch)) % len(labels)]).to(device)
        sb = sigmas[torch.randint(len(sigmas), (batch,), generator=gen)].to(device) if arm.noise else None
        loss = criterion(_forward(model, xb, sb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    if device == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats()
    train_times = repeat(train, reps, warmup, device)
    out["train_throughput"] = per_second(train_times, batch, "samples/s")
    out["peak_rss_train_mb"] = max_rss_mb() - base_rss
    if device == "cuda":
        out["cuda_max_allocated_train_mb"] = torch.cuda.max_memory_allocated() / 2**20
    state_bytes = 4 * sum(p.numel() * p.element_size() for p in model.parameters())  # weights, grads, 2 Adam moments
    input_bytes = batch * c * h * w * 4
    out["tensor_memory_train_mb"] = (
        state_bytes + input_bytes + _saved_activation_bytes(train, list(model.parameters()))
    ) / 2**20

    # --- forward FLOPs: explains the throughput ratio ---------------------------------------------------------------
    model.eval()
    x = load(0, 2).to(device)
    with torch.no_grad(), FlopCounterMode(display=False) as flops:
        _forward(model, x, None)
    out["gflop_per_sample_forward"] = flops.get_total_flops() / 2 / 1e9
    return out


def _in_fresh_process(fn, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def memory_key(device: str) -> str:
    return "cuda_max_allocated_train_mb" if device == "cuda" else "tensor_memory_train_mb"


def compare(image: dict, latent: dict, device: str) -> dict:
    """Latent-over-image ratios of one pair: throughputs (ratio of medians), memory and forward FLOPs."""
    from latentgap.tools.bench.measure import ratio

    mem = memory_key(device)
    div = lambda a, b: a / b if b else math.nan
    return dict(
        image=image["case"]["name"],
        latent=latent["case"]["name"],
        train_throughput_ratio=ratio(latent["train_throughput"], image["train_throughput"]),
        infer_throughput_ratio=ratio(latent["infer_throughput"], image["infer_throughput"]),
        memory_ratio=div(image[mem], latent[mem]),
        memory_measure=mem,
        rss_memory_ratio=div(image["peak_rss_train_mb"], latent["peak_rss_train_mb"]),
        flop_ratio=div(image["gflop_per_sample_forward"], latent["gflop_per_sample_forward"]),
        paper_throughput_ratio=PAPER_THROUGHPUT,
        paper_memory_ratio=PAPER_MEMORY,
    )


def run(
    workdir: Path,
    device: str,
    quick: bool,
    batch: int | None = None,
    reps: int | None = None,
    cases: tuple[Case, ...] = PAPER_CASES + QUICK_CASES,
    n_pool: int | None = None,
) -> dict:
    """Every case in its own process, then each latent case compared with its profile's image case."""
    batch = batch or (256 if device == "cuda" else 8 if quick else 32)
    reps = reps or (3 if quick else 10)
    paths = prepare_data(Path(workdir), n_pool=n_pool or max(4 * batch, 64), device=device)
    results = {c.name: _in_fresh_process(run_case, c, paths, batch, reps, 1, device) for c in cases}
    comparisons = []
    for profile in ("paper", "quick"):
        images = [r for r in results.values() if r["case"]["profile"] == profile and r["case"]["arm"] == "image"]
        for r in results.values():
            if images and r["case"]["profile"] == profile and r["case"]["arm"] != "image":
                comparisons.append(compare(images[0], r, device))
    return dict(batch_size=batch, repetitions=reps, cases=results, comparisons=comparisons, includes=INCLUDES)
