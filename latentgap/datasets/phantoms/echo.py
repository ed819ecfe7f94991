"""phantom-echo (SYNTHETIC composite): frames of synthetic echo cine loops of a beating heart, normal vs abnormal
ejection fraction, over real echocardiography speckle from a cine that ships in pydicom-data; `values` holds the
study's EF (%) for regression."""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import gaussian_filter, minimum_filter
from scipy.ndimage import label as connected_components

from latentgap.datasets.benchmark import COMPOSITE, Benchmark, register
from latentgap.datasets.phantoms._common import _generate, _grid, _resize
from latentgap.datasets.phantoms._sources import _dicom

ECHO_CLASSES = ["normal", "abnormal"]
ECHO_PREVALENCE = [0.7, 0.3]
ECHO_SIGNALS = {
    "normal": "ejection fraction (EF) >= 50 %: left ventricle contracts strongly over the cycle",
    "abnormal": "EF < 50 % and a mildly dilated left ventricle with a thinner wall (end-diastolic radius x1.05, "
    "wall 0.95x, radius ~0.14 w = 9 px, wall ~3 px); frames are random phases of the cycle, so one frame shows EF only "
    "through cavity size and wall thickness",
}
ECHO_COMPOSITION = (
    "SYNTHETIC composite: the speckle and tissue texture under the heart come from a real echocardiography cine "
    "(color3d_jpeg_baseline.dcm): per study a window of about a third of the real sector's depth (flipped at random), "
    "per frame the cine frame at the frame's phase, normalised by its local mean and mixed 1:1 with synthetic "
    "Rayleigh speckle; the sector, the beating left ventricle and its class signal are synthetic (see signals)"
)
US_FILE = "color3d_jpeg_baseline.dcm"
_US_FRAMES = tuple(range(0, 120, 5))
_US_WINDOW = 120  # real px: about a third of the sector's depth


@functools.lru_cache(maxsize=1)
def _us_texture():
    """Real cine frames (24, 480, 640) in [0, 1] and the window centres whose window lies inside the sector."""
    frames = _dicom(US_FILE, _US_FRAMES) / 255
    sector = gaussian_filter(frames.max(0), 3) > 0.06
    parts, _ = connected_components(sector)
    sector = parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))
    inside = minimum_filter(sector.astype(np.uint8), _US_WINDOW) > 0
    return frames, np.argwhere(inside)


def _echo(rng, p, label, s):
    if p is None:  # study-level: the heart's ejection fraction and size
        ef = float(np.clip(rng.normal(62, 6), 50, 80) if label == 0 else np.clip(rng.normal(38, 7), 15, 49.9))
        return dict(
            ef=ef,
            r_ed=rng.uniform(0.12, 0.16) * (1.05 if label else 1.0),
            wall=0.05 * (0.95 if label else 1.0),
            tilt=rng.uniform(-0.3, 0.3),
        )
    yy, xx = _grid(s)
    phase = rng.uniform()
    area_frac = 1 - (p["ef"] / 100) * (0.5 - 0.5 * np.cos(2 * np.pi * phase))  # volume ratio over the cycle
    r = p["r_ed"] * area_frac ** (1 / 3)  # volume ~ r^3
    ang = np.arctan2(xx - 0.5, yy - 0.05)
    sector = (np.abs(ang) < 0.6) & (np.hypot(yy - 0.05, xx - 0.5) < 0.95)  # the ultrasound fan
    cy, cx = 0.55, 0.5 + 0.1 * p["tilt"]
    d = np.sqrt(((yy - cy) / 1.6) ** 2 + (xx - cx) ** 2)
    myocardium = (d > r) & (d < r + p["wall"])
    tissue = 0.25 + 0.45 * myocardium + 0.1 * (d >= r + p["wall"])
    # real speckle: this study's window of the real cine, at the frame of this phase
    frames, centres = _us_texture()
    g = np.random.default_rng(p["pose"])
    (wy, wx), start, flip = centres[g.integers(len(centres))], int(g.integers(len(frames))), bool(g.integers(2))
    h = _US_WINDOW // 2
    window = frames[(start + int(phase * len(frames))) % len(frames), wy - h : wy + h, wx - h : wx + h]
    real = _resize(window[:, ::-1] if flip else window, s)
    real = real / (gaussian_filter(real, s * 0.08) + 0.03)
    speckle = 0.5 * real / (real.mean() + 1e-6) + 0.5 * rng.rayleigh(0.6, size=(s, s)).astype(np.float32) / 0.75
    img = gaussian_filter(tissue * speckle * 0.75, s * 0.006) * sector
    return img[None].astype(np.float32), p["ef"]


def phantom_echo(n_images: int, size: int, seed: int = 0) -> dict:
    """phantom-echo: (N, 1, size, size) frames in [0, 1], normal vs abnormal (EF < 50 %), 4-8 frames per study;
    `values` holds each frame's study EF (%) for regression."""
    return _generate(n_images, size, seed, ECHO_CLASSES, ECHO_PREVALENCE, (4, 9), _echo)


# --- registry entry: the metadata `data list`, the UI and every card show ---
BENCHMARK = register(
    Benchmark(
        name="phantom-echo",
        modality=f"echocardiography ({COMPOSITE})",
        description=(
            "SYNTHETIC frames of synthetic echo cine loops of a beating heart over real echocardiography speckle, 4-8 "
            "per study, abnormal (EF < 50 %) vs normal, EF kept for regression; mirrors the paper's Cardium frames."
        ),
        class_names=tuple(ECHO_CLASSES),
        default_size=2400,
        resolutions=(64, 128),
        generator=phantom_echo.__name__,
        signals=ECHO_SIGNALS,
        composition=ECHO_COMPOSITION,
        source_files=(US_FILE,),
    )
)
