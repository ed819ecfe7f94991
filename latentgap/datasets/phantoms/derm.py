"""phantom-derm (SYNTHETIC, procedural): dermatoscopy-like RGB images with the ISIC-2019 classes and imbalance.
No dermoscopy image ships in any installable package, so no real pixels are used."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from latentgap.datasets.benchmark import PROCEDURAL, Benchmark, register
from latentgap.datasets.phantoms._common import _bandpass, _blob, _generate, _grid

DERM_CLASSES = ["NV", "MEL", "BCC", "BKL", "AK", "SCC", "VASC", "DF"]
DERM_PREVALENCE = [0.51, 0.18, 0.13, 0.10, 0.034, 0.025, 0.011, 0.01]  # ISIC-2019 training-set proportions
DERM_SIGNALS = {
    "NV": "round, evenly brown lesion with a regular border (radial wobble <= 0.012 w)",
    "MEL": "asymmetric lesion, irregular border (radial wobble up to 0.035 w) and three dark blotches (-0.12, sigma "
    "0.04 w)",
    "BCC": "pinkish hint; thin branching red vessel lines (width ~1 px, +0.12 red / -0.09 green and blue)",
    "BKL": "light waxy hint; five small white dots (milia-like, +0.18, sigma 0.015 w = 1 px)",
    "AK": "reddish hint; rough scaly texture (period 2-4 px, amplitude 0.06)",
    "SCC": "pink-red hint; whitish keratin centre (+0.17, sigma 0.06 w = 4 px)",
    "VASC": "red-purple hint; four red-purple round lacunae (-0.16, sigma 0.03 w = 2 px)",
    "DF": "central white patch (+0.2, sigma 0.05 w = 3 px)",
}
DERM_NUISANCE = (
    "in every class: lesion colour drawn per lesion, class colour hints at 25 % weight, mottled pigment texture "
    "(period 3-8 px, 0.05), faint brown globules (-0.06, sigma 0.03 w) in half the images, 0-3 dark hairs (~1 px), "
    "skin texture, illumination and noise, so no single cue separates a class"
)
DERM_COMPOSITION = (
    "SYNTHETIC, procedural: no dermoscopy image ships in any installable package; no real pixels. "
    f"Nuisance {DERM_NUISANCE}"
)


def _derm(rng, p, label, s):
    if p is None:  # lesion-level parameters: several dermatoscopy images per lesion (label stream: do not add draws)
        return dict(
            skin=rng.uniform([0.75, 0.55, 0.45], [0.95, 0.75, 0.65]),
            r=rng.uniform(0.18, 0.3),
            brown=rng.uniform([0.35, 0.2, 0.1], [0.55, 0.35, 0.25]),
            seed=int(rng.integers(1 << 30)),
        )
    yy, xx = _grid(s)
    cy, cx = 0.5 + rng.normal(0, 0.03, 2)
    ang = np.arctan2(yy - cy, xx - cx)
    lrng = np.random.default_rng(p["seed"])  # the same lesion shape in every image of the lesion
    wobble = 0.035 if label == 1 else 0.012
    border = p["r"] * (1 + sum(lrng.uniform(0, wobble) * np.cos(k * ang + lrng.uniform(0, 6.3)) for k in (2, 3, 5)))
    inside = gaussian_filter((np.hypot(yy - cy, xx - cx) < border).astype(np.float32), s * 0.01)
    img = np.ones((3, s, s), np.float32) * p["skin"][:, None, None]
    img *= 1 + 0.03 * _bandpass(rng, s, s * 0.01, s * 0.04)[None]  # skin texture
    colour = {2: [0.8, 0.5, 0.5], 3: [0.65, 0.5, 0.35], 4: [0.75, 0.4, 0.35], 5: [0.85, 0.5, 0.5], 6: [0.55, 0.2, 0.35]}
    hint = 0.75 * p["brown"] + 0.25 * np.asarray(colour.get(label, p["brown"]))  # a hint, not a giveaway
    lesion = hint[:, None, None]
    lesion = lesion * (1 + 0.05 * _bandpass(rng, s, s * 0.02, s * 0.06))[None]  # mottled pigment, every class
    img = img * (1 - inside) + lesion * inside
    rr = lambda: (cy + rng.uniform(-0.6, 0.6) * p["r"], cx + rng.uniform(-0.6, 0.6) * p["r"])  # noqa: E731
    if rng.random() < 0.5:  # faint brown globules, every class
        for _ in range(int(rng.integers(1, 3))):
            img -= 0.06 * _blob(yy, xx, *rr(), 0.03)[None] * inside
    if label == 1:
        for _ in range(3):
            img -= 0.12 * _blob(yy, xx, *rr(), 0.04)[None] * inside
    elif label == 2:
        for _ in range(3):
            y0, x0 = rr()
            t = rng.uniform(0, np.pi)
            line = np.abs((yy - y0) * np.cos(t) - (xx - x0) * np.sin(t)) < 0.6 / s
            img += (line * inside * _blob(yy, xx, y0, x0, 0.12))[None] * np.array([0.12, -0.09, -0.09])[:, None, None]
    elif label == 3:
        for _ in range(5):
            img += 0.18 * _blob(yy, xx, *rr(), 0.015)[None] * inside
    elif label == 4:
        img += 0.06 * _bandpass(rng, s, 0.5, s * 0.03)[None] * inside
    elif label == 5:
        img += 0.17 * _blob(yy, xx, cy, cx, 0.06)[None]
    elif label == 6:
        for _ in range(4):
            img -= 0.16 * _blob(yy, xx, *rr(), 0.03)[None] * inside * np.array([0.2, 1, 0.5])[:, None, None]
    elif label == 7:
        img += 0.2 * _blob(yy, xx, cy, cx, 0.05)[None]
    for _ in range(int(rng.integers(0, 4))):  # dark hairs: gently curved ~1 px lines across the image, every class
        y0, x0, t, bend = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0, np.pi), rng.uniform(-1.5, 1.5)
        u = (yy - y0) * np.cos(t) - (xx - x0) * np.sin(t)
        v = (yy - y0) * np.sin(t) + (xx - x0) * np.cos(t)
        img *= 1 - rng.uniform(0.3, 0.6) * (np.abs(u - bend * v**2) < 0.6 / s)[None]
    img = img * rng.uniform(0.9, 1.1) + rng.normal(0, 0.02, img.shape)
    return img.astype(np.float32)


def phantom_derm(n_images: int, size: int, seed: int = 0) -> dict:
    """phantom-derm: (N, 3, size, size) RGB in [0, 1], 8 ISIC classes, 1-3 images per synthetic lesion."""
    return _generate(n_images, size, seed, DERM_CLASSES, DERM_PREVALENCE, (1, 4), _derm)


# --- registry entry: the metadata `data list`, the UI and every card show ---
BENCHMARK = register(
    Benchmark(
        name="phantom-derm",
        modality=f"dermatoscopy ({PROCEDURAL})",
        description=(
            "SYNTHETIC dermatoscopy-like colour images of 8 lesion types with ISIC-2019 proportions, 1-3 images per "
            "synthetic lesion; mirrors the paper's ISIC-2019 set."
        ),
        class_names=tuple(DERM_CLASSES),
        default_size=2400,
        resolutions=(64, 128),
        generator=phantom_derm.__name__,
        signals=DERM_SIGNALS,
        composition=DERM_COMPOSITION,
        source_files=(),
    )
)
