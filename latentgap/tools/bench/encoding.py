"""Encoding: latentgap's batched, cached encoder against a naive per-image diffusers loop on the same AE, and the
encoder's achieved FLOP/s as a fraction of this machine's measured dense-matmul FLOP/s.

Both sides encode to the posterior mode and decode the reconstruction (what `diagnose` needs). The naive loop
is the diffusers idiom: one image at a time, `torch.no_grad()`, fp32, `.latent_dist.mode()` / `.sample`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

AE, DATASET = "zoo:sd-vae-mini", "phantom-chest"  # a diffusers AutoencoderKL (the naive loop is diffusers' idiom)


def naive_loop(ae, images: np.ndarray, device: str) -> tuple[np.ndarray, np.ndarray]:
    """One image at a time through the diffusers model: (N, c, h, w) latents, (N, C, H, W) reconstructions."""
    import torch

    from latentgap.encode import to_ae_input

    ae.model.to(device)
    latents, recons = [], []
    for img in images:
        x = to_ae_input(torch.from_numpy(img[None]), ae.in_channels).to(device)
        with torch.no_grad():
            z = ae.model.encode(x).latent_dist.mode()
            r = ae.model.decode(z).sample
        latents.append(z.cpu())
        recons.append(r.cpu())
    return torch.cat(latents).numpy(), torch.cat(recons).numpy()


def matmul_flops(device: str, reps: int) -> dict:
    """Dense matmul FLOP/s on this device and thread count, in the encoder's dtype (bf16 on CUDA, fp32 on CPU)."""
    import torch

    from latentgap.tools.bench.measure import repeat, summarize

    n, dtype = (8192, torch.bfloat16) if device == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    times = repeat(lambda: torch.mm(a, b), reps, warmup=2, device=device)
    return summarize([2 * n**3 / t for t in times], f"FLOP/s ({n}x{n} {str(dtype).removeprefix('torch.')} mm)")


def encoder_flops_per_image(ae, images: np.ndarray, device: str) -> float:
    """FLOPs of encode + decode per image, counted by torch's FlopCounterMode (convolutions and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    from latentgap.encode import encode_decode

    with FlopCounterMode(display=False) as counter:
        encode_decode(ae, images, len(images), device)
    return counter.get_total_flops() / len(images)


def run(workdir: Path, device: str, quick: bool, n_images: int | None = None, reps: int | None = None) -> dict:
    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.datasets import registry
    from latentgap.encode import cached_encode, encode_decode
    from latentgap.spec import get_profile
    from latentgap.tools.bench.measure import per_second, ratio, repeat

    n = n_images or (32 if quick else 256)
    reps = reps or (3 if quick else 5)
    profile = get_profile("quick")
    ae = load_autoencoder(AE)
    images = registry.load(DATASET, profile.resolution, max(n, 64), cache_dir=Path(workdir) / "datasets").images[:n]
    batch = profile.encode_batch
    out = dict(autoencoder=AE, resolution=profile.resolution, n_images=n, batch_size=batch)
    out["batched"] = per_second(
        repeat(lambda: encode_decode(ae, images, batch, device), reps, 1, device), n, "images/s"
    )
    out["naive"] = per_second(repeat(lambda: naive_loop(ae, images, device), reps, 1, device), n, "images/s")
    cache, key = Path(workdir) / "encode-cache", f"bench-{ae.weights_hash}"
    cached_encode(ae, images, key, cache, batch, device)  # a miss: computes and writes the cache
    out["cache_hit"] = per_second(
        repeat(lambda: cached_encode(ae, images, key, cache, batch, device), reps, 0, device), n, "images/s"
    )
    out["batched_vs_naive_ratio"] = ratio(out["batched"], out["naive"])
    out["cache_hit_vs_naive_ratio"] = ratio(out["cache_hit"], out["naive"])
    out["flop_per_image"] = encoder_flops_per_image(ae, images[:8], device)
    out["matmul"] = matmul_flops(device, reps=5 if quick else 10)
    out["achieved_flops"] = out["flop_per_image"] * out["batched"]["median"]
    out["flop_fraction"] = out["achieved_flops"] / out["matmul"]["median"]
    return out
