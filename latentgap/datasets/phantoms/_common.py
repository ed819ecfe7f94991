"""Machinery shared by the embedded benchmarks: seeded streams, the group loop, band-limited noise, and the
geometry that poses real pixels per patient (fractions of the image width, so a benchmark is the same at any
resolution)."""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import gaussian_filter, zoom


def _resize(a: np.ndarray, h: int, w: int | None = None) -> np.ndarray:
    """Antialiased resize of a 2D float image (box filter down, bilinear up)."""
    from PIL import Image

    w = w or h
    down = h < a.shape[0] and w < a.shape[1]
    out = Image.fromarray(np.ascontiguousarray(a, np.float32), mode="F").resize(
        (w, h), Image.BOX if down else Image.BILINEAR
    )
    return np.asarray(out, np.float32)


def _polygon(points, n: int) -> np.ndarray:
    """(n, n) soft mask of a polygon given as (x, y) fractions of the width."""
    from PIL import Image, ImageDraw

    im = Image.new("L", (4 * n, 4 * n))
    ImageDraw.Draw(im).polygon([(x * 4 * n, y * 4 * n) for x, y in points], fill=255)
    return _resize(np.asarray(im, np.float32) / 255, n)


def _sample(base: np.ndarray, qy: np.ndarray, qx: np.ndarray) -> np.ndarray:
    """Bilinear sample of `base` (H, W) or (C, H, W) at fractional coordinates (fractions of its height/width);
    outside the image the border value continues."""
    b = base if base.ndim == 3 else base[None]
    c, h, w = b.shape
    y = np.clip(qy * h - 0.5, 0, h - 1)
    x = np.clip(qx * w - 0.5, 0, w - 1)
    y0, x0 = np.minimum(y.astype(np.intp), h - 2), np.minimum(x.astype(np.intp), w - 2)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    flat, i = b.reshape(c, -1), y0 * w + x0
    top = flat[:, i] * (1 - fx) + flat[:, i + 1] * fx
    bottom = flat[:, i + w] * (1 - fx) + flat[:, i + w + 1] * fx
    out = (top * (1 - fy) + bottom * fy).astype(np.float32)
    return out if base.ndim == 3 else out[0]


@functools.lru_cache(maxsize=16)
def _spline_matrix(size: int, k: int) -> np.ndarray:
    """(size, k) matrix of cubic-spline zoom weights from k control points to `size` pixels (grid edges aligned)."""
    return np.stack([zoom(np.eye(k)[j], size / k, order=3, mode="nearest", grid_mode=True)[:size] for j in range(k)], 1)


def _field(ctrl: np.ndarray, size: int) -> np.ndarray:
    """Smooth displacement field (size, size) from a small control grid: the same field at every resolution."""
    a = _spline_matrix(size, ctrl.shape[-1])
    return (a @ ctrl @ a.T).astype(np.float32)


def _pose(rng: np.random.Generator, rot: float, shift: float, elastic: float) -> dict:
    """Patient-level geometric jitter of the real anatomy: rotation (rad), shift and a smooth elastic field (fractions
    of the width, std), plus an intensity gamma and contrast. A fixed number of draws: the same at every resolution."""
    return dict(
        rot=rng.normal(0, rot),
        shift=rng.normal(0, shift, 2),
        elastic=rng.normal(0, elastic, (2, 4, 4)),
        gamma=float(np.exp(rng.normal(0, 0.12))),
        contrast=rng.uniform(0.9, 1.1),
    )


def _pixel_grid(size: int):
    """Pixel-centre coordinates (fractions of the width)."""
    return (np.mgrid[0:size, 0:size].astype(np.float32) + 0.5) / size


def _warp(pose: dict, size: int, centre=(0.5, 0.5), scale=(1.0, 1.0), offset=(0.0, 0.0)):
    """Source coordinates for every output pixel: rotate by the pose about `centre` (+ shift + `offset`), divide by
    `scale` (>1 magnifies), add the elastic field. Returns (qy, qx) as fractions of the source."""
    yy, xx = _pixel_grid(size)
    dy = yy - centre[0] - pose["shift"][0] - offset[0]
    dx = xx - centre[1] - pose["shift"][1] - offset[1]
    c, s = np.cos(pose["rot"]), np.sin(pose["rot"])
    qy = 0.5 + (c * dy - s * dx) / scale[0] + _field(pose["elastic"][0], size)
    qx = 0.5 + (s * dy + c * dx) / scale[1] + _field(pose["elastic"][1], size)
    return qy, qx


def _streams(seed: int):
    """Three generators: labels, groups and patient parameters from the first, pixel noise from the second, the pose
    of the real anatomy per patient from the third, so the label set is the same at every resolution (pixel draws
    depend on the image size) and the same as before real pixels were added (spawned streams are independent)."""
    meta, pixels, anatomy = np.random.default_rng(seed).spawn(3)
    return meta, pixels, anatomy


def _bandpass(rng: np.random.Generator, size: int, low: float, high: float) -> np.ndarray:
    """Unit-std noise keeping spatial scales between `low` and `high` (sigmas in pixels): a DoG filter."""
    white = rng.normal(size=(size, size))
    band = gaussian_filter(white, low) - gaussian_filter(white, high)
    return (band / (band.std() + 1e-8)).astype(np.float32)


def _grid(size: int):
    return np.mgrid[0:size, 0:size].astype(np.float32) / size


def _blob(yy, xx, cy, cx, sigma):
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))


def _generate(n_images: int, size: int, seed: int, classes: list, prevalence: list, per_group: tuple, draw) -> dict:
    """Shared loop: groups of `per_group` (low, high) images; `draw(rng, group_params, label, size)` makes one.

    `draw` returns an image (C, size, size) in [0, 1], or (image, value) for benchmarks with a continuous target.
    Each group (patient, lesion, study) has one label. Group parameters come from the label stream; `params["pose"]`
    (a seed from the anatomy stream) poses the group's real pixels, the same at every resolution.
    """
    meta, pixels, anatomy = _streams(seed)
    images, labels, groups, values = [], [], [], []
    group = 0
    while len(images) < n_images:
        label = int(meta.choice(len(classes), p=prevalence))
        params = draw(meta, None, label, size)  # group-level parameters
        params["pose"] = int(anatomy.integers(1 << 62))
        for _ in range(min(int(meta.integers(*per_group)), n_images - len(images))):
            out = draw(pixels, params, label, size)
            img, value = out if isinstance(out, tuple) else (out, np.nan)
            images.append(np.clip(img, 0, 1).astype(np.float32))
            labels.append(label)
            groups.append(group)
            values.append(value)
        group += 1
    return dict(
        images=np.stack(images),
        labels=np.asarray(labels, np.int64),
        groups=np.asarray(groups, np.int64),
        values=np.asarray(values, np.float32),
        class_names=list(classes),
    )
