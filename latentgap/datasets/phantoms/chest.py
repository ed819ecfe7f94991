"""phantom-chest (SYNTHETIC composite): mimics the paper's MIMIC-CXR set, frontal radiographs with long-tailed
single findings and several images per synthetic patient; a real computed radiograph that ships in pydicom-data
is the anatomy, every finding is inserted synthetically."""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import gaussian_filter

from latentgap.datasets.benchmark import COMPOSITE, Benchmark, register
from latentgap.datasets.phantoms._common import (
    _bandpass,
    _pixel_grid,
    _polygon,
    _pose,
    _resize,
    _sample,
    _streams,
    _warp,
)
from latentgap.datasets.phantoms._sources import _dicom

CHEST_CLASSES = ["no_finding", "nodule", "effusion", "cardiomegaly", "consolidation", "pneumothorax"]
CHEST_PREVALENCE = [0.55, 0.15, 0.12, 0.09, 0.06, 0.03]  # long tail like CXR-LT ("No Finding" dominant)
CHEST_SIGNALS = {
    "no_finding": "the real radiograph's anatomy (warped per patient), heart width x0.83-1.17 of the source's, "
    "synthetic fine lung markings; no inserted finding",
    "nodule": "one well-circumscribed round opacity (radius 0.05 w ~3 px, edge width 0.006 w; sharper than the "
    "source's own opacities), +0.45 intensity, random site in either lung",
    "effusion": "homogeneous opacity at one lung base rising laterally (meniscus), height 0.08-0.16 w (5-10 px), +0.15",
    "cardiomegaly": "heart shadow widened by a local warp of the real pixels: heart width x1.19 of the patient's "
    "(cardiothoracic ratio ~0.50 vs ~0.42, patients vary by sd 0.035), global, tens of px",
    "consolidation": "patchy band-limited texture, period ~0.1-0.15 w (6-10 px), +0.4, in a region (sigma 0.09 w) "
    "of one lung",
    "pneumothorax": "lateral rim of one lung with its markings removed (smoothed, synthetic markings absent) and "
    "0.18 darker, 0.2-0.33 of the lung's width (3-7 px), bounded by a thin bright pleural line (~1 px, +0.2)",
}
CHEST_COMPOSITION = (
    "SYNTHETIC composite: a real computed-radiography chest image (RG1_UNCR.dcm) is the anatomy and texture of every "
    "image, warped per synthetic patient (size 0.92-1.08 per axis, rotation, shift, smooth elastic field, heart-size "
    "warp) and per image (positioning jitter), with intensity jitter (gamma, contrast, exposure), synthetic fine lung "
    "markings and quantum noise, so no two images are equal; the finding of each class is inserted synthetically "
    "(see signals)"
)
CR_FILE = "RG1_UNCR.dcm"
# Landmarks in the square crop of RG1 (fractions of its width, x then y; measured by eye): lungs as polygons,
# heart centre and half-axes.
_CR_LUNGS = (
    [
        (0.25, 0.07),
        (0.33, 0.08),
        (0.38, 0.12),
        (0.41, 0.25),
        (0.40, 0.45),
        (0.38, 0.62),
        (0.36, 0.71),
        (0.28, 0.73),
        (0.18, 0.75),
        (0.10, 0.78),
        (0.09, 0.65),
        (0.10, 0.45),
        (0.12, 0.28),
        (0.17, 0.14),
    ],
    [
        (0.62, 0.07),
        (0.70, 0.08),
        (0.78, 0.12),
        (0.85, 0.25),
        (0.89, 0.45),
        (0.91, 0.62),
        (0.90, 0.78),
        (0.84, 0.76),
        (0.78, 0.70),
        (0.70, 0.62),
        (0.62, 0.55),
        (0.57, 0.45),
        (0.56, 0.30),
        (0.57, 0.14),
    ],
)
_CR_HEART = dict(cy=0.64, cx=0.58, half_w=0.20, half_h=0.10)


@functools.lru_cache(maxsize=8)
def _cr_base(n: int) -> np.ndarray:
    """The real radiograph at (n, n) in [0, 1] and its lung masks (+1 on the image's left lung, -1 on the right).

    Square crop (centred rows) of RG1_UNCR, MONOCHROME1 inverted, window at the 1st-99th percentiles, gamma 1.8
    (lungs dark, mediastinum bright, as displayed on a reading screen)."""
    a = _dicom(CR_FILE)[0]
    o = (a.shape[0] - a.shape[1]) // 2
    a = a[o : o + a.shape[1]]
    lo, hi = np.percentile(a, [1, 99])
    img = _resize(np.clip((hi - a) / (hi - lo), 0, 1) ** 1.8, n)
    left, right = (_polygon(p, n) for p in _CR_LUNGS)
    return np.stack([gaussian_filter(img, 0.6), left - right])  # the lungs do not overlap: one signed mask


def _patient(rng: np.random.Generator) -> dict:
    """Anatomy shared by all images of one synthetic patient (drawn from the label stream: do not add draws)."""
    return dict(
        thorax_w=rng.uniform(0.36, 0.42),
        lung_h=rng.uniform(0.30, 0.36),
        lung_cy=rng.uniform(0.44, 0.50),
        ctr=rng.normal(0.42, 0.035),
        rib_period=rng.uniform(0.075, 0.095),
        exposure=rng.uniform(0.9, 1.1),
    )


def _chest_pose(rng: np.random.Generator) -> dict:
    """How the real radiograph is posed for one patient (from the anatomy stream)."""
    return dict(_pose(rng, rot=0.03, shift=0.015, elastic=0.008), zoom=rng.uniform(1.06, 1.16))


def _chest_image(rng: np.random.Generator, p: dict, label: int, size: int) -> np.ndarray:
    """One (size, size) radiograph in [0, 1]: the real radiograph posed for patient `p`, finding `label` inserted."""
    s = size
    yy, xx = _pixel_grid(s)
    jitter = rng.normal(0, 0.015, 2)  # positioning jitter per image
    # patient size from the drawn anatomy: thorax width and lung height relative to their means
    scale = (p["zoom"] * p["lung_h"] / 0.33, p["zoom"] * p["thorax_w"] / 0.39)
    qy, qx = _warp(p, s, scale=scale, offset=jitter)
    # heart size: a horizontal bulge of the real pixels around the heart, width x k at its border
    k = (p["ctr"] + (0.08 if label == 3 else 0.0) + rng.normal(0, 0.01)) / 0.42
    h = _CR_HEART
    w = np.exp(-(((qx - h["cx"]) / (1.3 * h["half_w"])) ** 2 + ((qy - h["cy"]) / (1.3 * h["half_h"])) ** 2) / 2)
    a = (1 - 1 / k) / np.exp(-((k / 1.3) ** 2) / 2)  # solves: the border at half_w moves to k * half_w
    qx = h["cx"] + (qx - h["cx"]) * (1 - a * w)
    img, signed = _sample(_cr_base(2 * s), qy, qx)
    img = np.clip(img, 0, 1) ** p["gamma"] * p["contrast"]
    soft = [np.clip(signed, 0, 1), np.clip(-signed, 0, 1)]
    lungs = soft[0] + soft[1]
    markings = _bandpass(rng, s, s * 0.008, s * 0.03)  # vessels: synthetic fine texture inside the lungs
    img = img + 0.03 * markings * lungs
    side = int(rng.integers(2))
    mask = soft[side] > 0.5
    if not mask.any():  # tiny images
        mask = soft[side] >= soft[side].max()
    lat = 2 * side - 1  # lateral direction of the chosen lung (side 0 is on the image's left)
    lx = xx[mask].mean()
    half_w = max((xx[mask].max() - xx[mask].min()) / 2, 1 / s)
    if label == 1:  # nodule
        ys, xs = np.nonzero(mask)
        j = rng.integers(len(ys))
        r = np.hypot(xx - xx[ys[j], xs[j]], yy - yy[ys[j], xs[j]])
        img += 0.45 / (1 + np.exp(np.minimum((r - 0.05) / 0.006, 50)))  # sharper-edged than the real opacities
    elif label == 2:  # effusion: fluid at the lung base with a meniscus rising laterally
        base_y = yy[mask].max()
        height = rng.uniform(0.08, 0.16)
        meniscus = base_y - height * (1 + 0.6 * np.clip(lat * (xx - lx) / half_w, 0, 1))
        fluid = mask & (yy > meniscus)
        img += 0.15 * gaussian_filter(fluid.astype(np.float32), s * 0.01)
    elif label == 4:  # consolidation: patchy band-limited texture in a region of one lung
        ys, xs = np.nonzero(mask)
        j = rng.integers(len(ys))
        region = np.exp(-((xx - xx[ys[j], xs[j]]) ** 2 + (yy - yy[ys[j], xs[j]]) ** 2) / (2 * 0.09**2)) * mask
        patch = np.clip(_bandpass(rng, s, s * 0.03, s * 0.06), 0, None)
        img += 0.4 * patch * region
    elif label == 5:  # pneumothorax: lateral rim without markings, darker, thin pleural line
        edge = lx + lat * half_w * rng.uniform(0.35, 0.6)
        rim = mask & (((xx - edge) * lat) > 0)
        smooth = gaussian_filter(img, s * 0.02)
        img = np.where(rim, 0.5 * img + 0.5 * smooth - 0.03 * markings - 0.18, img)
        img += 0.2 * (np.abs(xx - edge) < 0.012) * mask
    img = img * p["exposure"]
    img += rng.normal(0, 0.02, size=img.shape)  # quantum noise
    return np.clip(img, 0, 1).astype(np.float32)


def phantom_chest(n_images: int, size: int, seed: int = 0) -> dict:
    """Generate phantom-chest: images (N, 1, size, size) float32 in [0, 1], labels (N,), groups (N,)."""
    meta, pixels, anatomy = _streams(seed)
    images, labels, groups = [], [], []
    patient = 0
    while len(images) < n_images:
        p = dict(_patient(meta), **_chest_pose(anatomy))
        for _ in range(min(int(meta.integers(1, 5)), n_images - len(images))):  # 1-4 images per patient
            label = int(meta.choice(len(CHEST_CLASSES), p=CHEST_PREVALENCE))
            images.append(_chest_image(pixels, p, label, size))
            labels.append(label)
            groups.append(patient)
        patient += 1
    return dict(
        images=np.stack(images)[:, None].astype(np.float32),
        labels=np.asarray(labels, np.int64),
        groups=np.asarray(groups, np.int64),
        class_names=list(CHEST_CLASSES),
    )


# --- registry entry: the metadata `data list`, the UI and every card show ---
BENCHMARK = register(
    Benchmark(
        name="phantom-chest",
        modality=f"chest radiography ({COMPOSITE})",
        description=(
            "SYNTHETIC frontal chest radiographs (a real computed radiograph posed per synthetic patient, findings "
            "inserted synthetically), 6 long-tailed findings, 1-4 images per synthetic patient; mirrors the paper's "
            "MIMIC-CXR (CXR-LT) set."
        ),
        class_names=tuple(CHEST_CLASSES),
        default_size=2400,
        resolutions=(64, 128),
        generator=phantom_chest.__name__,
        signals=CHEST_SIGNALS,
        composition=CHEST_COMPOSITION,
        source_files=(CR_FILE,),
    )
)
