"""Batched, cached encode/decode: pixels -> posterior-mode latents and reconstructions.

Inputs are scaled to [-1, 1]; the latent is the posterior mode (mean), not a sample (the paper's choice).
Results are cached under the workspace, keyed by (weights hash, dataset fingerprint, resolution), written to
a temporary file then renamed, so the cache holds complete files or none. A batch that runs out of memory is
retried at half the batch size, down to one image, before the encode fails with a LatentgapError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from latentgap import progress
from latentgap.cache import atomic_savez, load_npz
from latentgap.errors import LatentgapError


def to_ae_input(images: torch.Tensor, in_channels: int) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> (N, in_channels, H, W) in [-1, 1]; grayscale is repeated for RGB AEs."""
    if images.shape[1] == 1 and in_channels == 3:
        images = images.repeat(1, 3, 1, 1)
    elif images.shape[1] == 3 and in_channels == 1:
        images = images.mean(1, keepdim=True)
    return images * 2 - 1


def is_out_of_memory(e: BaseException) -> bool:
    """CUDA raises torch.OutOfMemoryError, the CPU allocator MemoryError, MPS and older builds a RuntimeError."""
    return isinstance(e, (torch.OutOfMemoryError, MemoryError)) or (
        isinstance(e, RuntimeError) and "out of memory" in str(e).lower()
    )


@torch.inference_mode()
def _encode_batch(ae, x: torch.Tensor, device: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One batch (n, C, H, W) in [-1, 1] -> (latents, reconstructions in [0, 1] or None for an encoder-only AE),
    float32 on the CPU."""
    x = x.to(device)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else torch.autocast("cpu", enabled=False)
    )
    with autocast:
        z = ae.encode(x)  # the family's latent: posterior mode for KL autoencoders
        if not ae.has_decoder:
            return z.float().cpu(), None
        r = ae.decode(z)
    return z.float().cpu(), ((r.float().cpu() + 1) / 2).clamp(0, 1)


def encode_decode(ae, images: np.ndarray, batch_size: int, device: str, desc: str = "encode") -> tuple:
    """Encode to posterior-mode latents (N, c, h, w) and decode to reconstructions (N, C_ae, H, W) in [0, 1]
    (None for an encoder-only autoencoder).

    Out of memory in a batch halves the batch size for the rest of the run (down to 1, then a LatentgapError).
    """
    ae.model.to(device)
    latents, recons, i = [], [], 0
    with tqdm(total=len(images), desc=desc, unit="img", leave=False) as bar:
        while i < len(images):
            x = to_ae_input(torch.from_numpy(images[i : i + batch_size]), ae.in_channels)
            try:
                z, r = _encode_batch(ae, x, device)
            except (RuntimeError, MemoryError) as e:
                if not is_out_of_memory(e):
                    raise
                if device == "cuda":
                    torch.cuda.empty_cache()
                if batch_size == 1:
                    raise LatentgapError(
                        f"encoding ran out of memory on {device} even at batch size 1 (image {i}); "
                        "use a lower resolution profile, a smaller autoencoder or a bigger device"
                    ) from None
                batch_size = max(1, batch_size // 2)
                bar.set_postfix(batch=batch_size)
                continue
            latents.append(z)
            recons.append(r)
            i += len(x)
            bar.update(len(x))
            progress.report(i / len(images), f"{i}/{len(images)} images")  # a dashboard job can be cancelled here
    # C order, as a cache hit and the Ray shards give: convolutions may return channels-last tensors, and numpy's
    # reductions and torch's kernels sum in memory order, so the layout alone changed downstream metrics
    recons = None if recons[0] is None else np.ascontiguousarray(torch.cat(recons).numpy())
    return np.ascontiguousarray(torch.cat(latents).numpy()), recons


def cached_encode(ae, images: np.ndarray, key: str, cache_dir: Path, batch_size: int, device: str) -> tuple:
    """`encode_decode` with an on-disk cache at cache_dir/key.npz."""
    return encode_with_cache(cache_dir, key, lambda: encode_decode(ae, images, batch_size, device))


def encode_with_cache(cache_dir: Path, key: str, encode: Callable[[], tuple]) -> tuple:
    """(latents, reconstructions float32) from cache_dir/key.npz, else from `encode()` and then cached; every
    backend's encoder goes through here, so a cache hit and a fresh encoding give the same arrays."""
    path = Path(cache_dir) / f"{key}.npz"
    cached = load_npz(path)
    if cached is not None:
        return cached["latents"], cached["recons"].astype(np.float32) if "recons" in cached else None
    latents, recons = encode()
    if recons is None:  # an encoder-only autoencoder
        atomic_savez(path, latents=latents)
        return latents, None
    recons = recons.astype(np.float16)  # halves the cache; PSNR of fp16 rounding is > 60 dB
    atomic_savez(path, latents=latents, recons=recons)
    return latents, recons.astype(np.float32)  # same precision as a cache hit


def normalize_latents(latents: np.ndarray, train_idx: np.ndarray, target_std: float = 0.5):
    """Per-channel normalisation to mean 0, std `target_std` using train-split statistics (the paper, EDM σ_data)."""
    mean = latents[train_idx].mean(axis=(0, 2, 3), keepdims=True)
    std = latents[train_idx].std(axis=(0, 2, 3), keepdims=True) + 1e-8
    return ((latents - mean) / std * target_std).astype(np.float32), mean.ravel(), std.ravel()
