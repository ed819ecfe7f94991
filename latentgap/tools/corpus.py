"""General-domain image corpus for pretraining the embedded autoencoders offline.

Mirrors "large-scale pretrained general-domain AEs": natural photographs that ship inside installable
packages (scikit-image, scikit-learn) plus procedural textures, sampled as random crops at random zoom,
flips and occasional desaturation. No medical pixels, so the embedded AEs are general-domain like SD/FLUX.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# name -> (loader, license as stated by the shipping package)
PHOTO_SOURCES: dict[str, str] = {
    "skimage.data.camera": "CC0 (Lav Varshney)",
    "skimage.data.astronaut": "public domain (NASA)",
    "skimage.data.coffee": "CC0 (Rachel Michetti)",
    "skimage.data.chelsea": "CC0 (Stefan van der Walt)",
    "skimage.data.rocket": "public domain (SpaceX)",
    "skimage.data.hubble_deep_field": "public domain (NASA)",
    "skimage.data.coins": "no known copyright restrictions",
    "skimage.data.grass": "CC0 (CC0Textures)",
    "skimage.data.gravel": "CC0 (CC0Textures)",
    "skimage.data.brick": "CC0 (CC0Textures)",
    "skimage.data.clock": "public domain (Stefan van der Walt)",
    "skimage.data.text": "public domain",
    "sklearn.datasets.load_sample_images:china": "CC BY 2.0 (danielbuechele, Flickr)",
    "sklearn.datasets.load_sample_images:flower": "CC BY 2.0 (vultilion, Flickr)",
}


def _load_photos() -> list[np.ndarray]:
    """All corpus photographs as float32 (H, W, 3) arrays in [0, 1]."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = []
    for src in PHOTO_SOURCES:
        if src.startswith("skimage"):
            img = getattr(skimage.data, src.rsplit(".", 1)[1])()
        else:
            sample = load_sample_images()
            img = sample.images[["china.jpg", "flower.jpg"].index(src.rsplit(":", 1)[1] + ".jpg")]
        img = np.asarray(img, dtype=np.float32) / 255.0
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        photos.append(img[..., :3])
    return photos


def _procedural_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """One (size, size, 3) texture in [0, 1]: gratings, smooth noise and hard-edged blobs mixed."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(1, 4)):  # oriented gratings, periods 3..size/2 px
        theta, period = rng.uniform(0, np.pi), rng.uniform(3, size / 2) / size
        img += rng.uniform(0.1, 0.4) * np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period)
    coarse = rng.normal(size=(rng.integers(2, 9),) * 2).astype(np.float32)  # smooth noise by upsampling
    img += 0.3 * F.interpolate(torch.from_numpy(coarse)[None, None], size=(size, size), mode="bicubic")[0, 0].numpy()
    for _ in range(rng.integers(0, 5)):  # hard-edged ellipses
        cx, cy, rx, ry = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.3), rng.uniform(0.03, 0.3)
        img += rng.uniform(-0.5, 0.5) * (((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1)
    img = (img - img.min()) / (np.ptp(img) + 1e-6)
    tint = rng.uniform(0.5, 1.0, size=3).astype(np.float32)
    return np.clip(img[..., None] * tint + rng.uniform(0, 0.3, size=3), 0, 1).astype(np.float32)


class CorpusSampler:
    """Seeded sampler of (B, 3, S, S) crops in [-1, 1]; a fraction `texture_fraction` is procedural."""

    def __init__(self, seed: int, texture_fraction: float = 0.25, gray_fraction: float = 0.3):
        self.rng = np.random.default_rng(seed)
        self.photos = _load_photos()
        self.texture_fraction, self.gray_fraction = texture_fraction, gray_fraction

    def _crop(self, size: int) -> np.ndarray:
        if self.rng.uniform() < self.texture_fraction:
            return _procedural_texture(self.rng, size)
        photo = self.photos[self.rng.integers(len(self.photos))]
        h, w, _ = photo.shape
        side = int(self.rng.uniform(size, min(h, w, 4 * size)))  # zoom out up to 4x
        y, x = self.rng.integers(0, h - side + 1), self.rng.integers(0, w - side + 1)
        patch = torch.from_numpy(np.ascontiguousarray(photo[y : y + side, x : x + side])).permute(2, 0, 1)[None]
        patch = F.interpolate(patch, size=(size, size), mode="area")[0].permute(1, 2, 0).numpy()
        if self.rng.uniform() < 0.5:
            patch = patch[:, ::-1]
        return patch

    def batch(self, batch_size: int, size: int) -> torch.Tensor:
        crops = np.stack([self._crop(size) for _ in range(batch_size)])
        gray = self.rng.uniform(size=batch_size) < self.gray_fraction
        crops[gray] = crops[gray].mean(axis=3, keepdims=True)
        return torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2) * 2 - 1
