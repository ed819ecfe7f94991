"""A run's sample gallery: small uint8 thumbnails of images and their reconstructions, with per-sample PSNR/SSIM.

The dashboard's Reconstructions grid and the Latent explorer's sample view read it. Arrays live in one compressed
`.npz` per run under `<home>/gallery/` (the store keeps numbers, files keep pixels); written atomically, so a
killed run leaves either a complete file or none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from latentgap.cache import atomic_savez, load_npz
from latentgap.workspace import Workspace

MAX_SIDE = 48  # thumbnails are at most this many pixels a side
MAX_SAMPLES = 400  # per run, test samples first: 1-5 MB per run


def gallery_path(home: Path, run_id: str) -> Path:
    return Workspace(Path(home)).gallery(run_id)


def _thumbnails(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (N, C, h, w) uint8 with h, w <= MAX_SIDE (area-averaged)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.shape[-1] > MAX_SIDE:
        t = F.interpolate(t, size=(MAX_SIDE, MAX_SIDE), mode="area")
    return (t.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def choose_samples(labels: np.ndarray, test: np.ndarray, seed: int, limit: int = MAX_SAMPLES) -> np.ndarray:
    """Test samples first (they carry predictions), then others, up to `limit`; sorted indices."""
    rng = np.random.default_rng(seed)
    rest = np.setdiff1d(np.arange(len(labels)), test)
    order = np.concatenate([rng.permutation(test), rng.permutation(rest)])[:limit]
    return np.sort(order)


def save_gallery(
    home: Path,
    run_id: str,
    index: np.ndarray,
    images: np.ndarray,
    recons: np.ndarray,
    labels: np.ndarray,
    psnr: np.ndarray,
    ssim: np.ndarray,
) -> Path:
    """Thumbnails of `images[index]` and `recons[index]` with their labels and fidelity ((N,) each, aligned)."""
    path = gallery_path(home, run_id)
    recon = recons[index]
    if images.shape[1] == 1 and recon.shape[1] == 3:  # a grayscale input went in repeated to RGB: show it gray
        recon = recon.mean(1, keepdims=True)
    atomic_savez(
        path,
        compress=True,
        index=index.astype(np.int64),
        label=labels[index].astype(np.int64),
        image=_thumbnails(images[index]),
        reconstruction=_thumbnails(recon),
        psnr=psnr[index].astype(np.float32),
        ssim=ssim[index].astype(np.float32),
    )
    return path


def load_gallery(home: Path, run_id: str) -> dict[str, np.ndarray] | None:
    """The run's gallery arrays, or None when it has none (runs stored before galleries existed)."""
    return load_npz(gallery_path(home, run_id))
