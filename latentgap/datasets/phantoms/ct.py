"""phantom-ct (SYNTHETIC composite): axial chest CT slices, several slices per patient; the body wall and
posterior mediastinum come from real CT slices that ship in pydicom and pydicom-data, the lungs and every finding
are synthetic."""

from __future__ import annotations

import functools

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.ndimage import label as connected_components

from latentgap.datasets.benchmark import COMPOSITE, Benchmark, register
from latentgap.datasets.phantoms._common import _bandpass, _blob, _generate, _grid, _pose, _resize, _sample, _warp
from latentgap.datasets.phantoms._sources import _dicom

CT_CLASSES = ["normal", "nodule", "emphysema", "effusion", "consolidation"]
CT_PREVALENCE = [0.5, 0.2, 0.12, 0.1, 0.08]
CT_SIGNALS = {
    "normal": "real body wall, soft tissue and thoracic spine; synthetic lungs with fine vessels",
    "nodule": "one round soft-tissue density in a lung, sigma 0.025 w (~1.6 px), +0.25",
    "emphysema": "many small low-attenuation holes in the lungs (sigma ~0.012 w), -0.12",
    "effusion": "dependent (posterior) fluid crescent in one lung, thickness 0.04-0.08 w, +0.3",
    "consolidation": "dense patch (+0.2) with band-limited texture (period 6-10 px) in one lung",
}
CT_COMPOSITION = (
    "SYNTHETIC composite: the body outline, body wall, table and mediastinal soft tissue come from a real abdominal "
    "CT slice (explicit_VR-UN.dcm, flipped so the spine is posterior, scaled to each synthetic patient's body size, "
    "rotated and elastically jittered), the posterior mediastinum (thoracic vertebra, aorta, paraspinal muscles) "
    "from a real chest CT (CT_small.dcm); HU windowed [-1000, 1000] -> [0, 1]. The lungs (size varying with slice "
    "level), their vessels and noise are synthetic, and the finding of each class is inserted synthetically (see "
    "signals)"
)
CT_BODY_FILE, CT_SPINE_FILE = "explicit_VR-UN.dcm", "CT_small.dcm"
_CT_VERTEBRA = (0.21, 0.475)  # vertebral body centre in CT_small (fractions, y then x; measured by eye)


def _hu_window(hu: np.ndarray) -> np.ndarray:
    return np.clip((hu + 1000) / 2000, 0, 1).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _ct_bases(n: int):
    """The real abdominal slice (n, n) windowed, spine down, with its body box (cy, cx, half_h, half_w in fractions),
    and the real posterior-mediastinum field of CT_small at about twice the resolution it is shown at."""
    hu = _dicom(CT_BODY_FILE)[0][::-1]  # stored with the spine up; the phantom has the patient's back down
    parts, k = connected_components(hu > -400)
    body = parts == 1 + int(np.argmax(np.bincount(parts.ravel())[1:]))  # the largest part is the body (not the table)
    ys, xs = np.nonzero(body)
    box = (
        (ys.min() + ys.max() + 1) / 2 / hu.shape[0],
        (xs.min() + xs.max() + 1) / 2 / hu.shape[1],
        (ys.max() + 1 - ys.min()) / 2 / hu.shape[0],
        (xs.max() + 1 - xs.min()) / 2 / hu.shape[1],
    )
    spine = _hu_window(_dicom(CT_SPINE_FILE)[0])
    return _resize(_hu_window(hu), n), box, _resize(spine, min(spine.shape[0], max(8, n // 4)))


def _ct_background(p: dict, s: int) -> np.ndarray:
    """The patient's real background (s, s): the abdominal slice's body box mapped onto the patient's body ellipse
    (0.5 +- bh, 0.5 +- bw), posed, with CT_small's posterior mediastinum inserted at the spine."""
    pose = _pose(np.random.default_rng(p["pose"]), rot=0.04, shift=0.01, elastic=0.006)
    body, (by, bx, bhh, bhw), spine = _ct_bases(2 * s)
    qy, qx = _warp(pose, s, scale=(p["bh"] / bhh, p["bw"] / bhw))
    img = _sample(body, qy - 0.5 + by, qx - 0.5 + bx) * pose["contrast"]
    # CT_small's vertebral body at (0.5 + 0.5 bh, 0.5); its ~85 mm field spans ~0.56 bw
    span = 0.56 * p["bw"]
    ty, tx = _warp(pose, s, scale=(span, span), offset=(0.5 * p["bh"], 0.0))
    ty, tx = ty - 0.5 + _CT_VERTEBRA[0], tx - 0.5 + _CT_VERTEBRA[1]
    keep = np.clip((1 - np.hypot((ty - 0.45) / 0.45, (tx - 0.47) / 0.42)) / 0.3, 0, 1)  # feathered ellipse
    return img * (1 - keep) + _sample(spine, ty, tx) * keep


def _ct(rng, p, label, s):
    if p is None:  # patient-level: body habitus and the finding's site, shared by all slices
        return dict(
            bw=rng.uniform(0.38, 0.45),
            bh=rng.uniform(0.28, 0.34),
            site=rng.uniform(-1, 1, 2),
            side=int(rng.integers(2)),
        )
    yy, xx = _grid(s)
    z = rng.uniform(0.8, 1.0)  # slice level: lungs shrink towards the apex
    if p.get("real_size") != s:  # the real background: the same for every slice of the patient
        p["real"], p["real_size"] = _ct_background(p, s), s
    img = p["real"].copy()
    lungs = []
    for side in (-1, 1):
        m = (
            ((xx - 0.5 - side * p["bw"] * 0.48) / (p["bw"] * 0.38 * z)) ** 2 + ((yy - 0.48) / (p["bh"] * 0.75 * z)) ** 2
        ) < 1
        lungs.append(m)
    lung = (lungs[0] | lungs[1]).astype(np.float32)
    soft = gaussian_filter(lung, s * 0.006)
    img = img * (1 - soft) + 0.1 * soft  # aerated lung replaces the real tissue
    img += 0.05 * np.clip(_bandpass(rng, s, s * 0.006, s * 0.02), 0, None) * lung  # vessels
    mask = lungs[p["side"]]
    ys, xs = np.nonzero(mask)
    if label in (1, 4) and len(ys):
        k = int((p["site"][0] * 0.5 + 0.5) * (len(ys) - 1))
        cy, cx = ys[k] / s, xs[k] / s
        if label == 1:
            img += 0.25 * _blob(yy, xx, cy, cx, 0.025)
        else:
            region = _blob(yy, xx, cy, cx, 0.07) * mask
            img += (0.2 + 0.08 * _bandpass(rng, s, s * 0.03, s * 0.06)) * region
    elif label == 2:
        holes = np.clip(_bandpass(rng, s, s * 0.008, s * 0.02), 1.0, None) - 1.0
        img -= 0.12 * holes * lung
    elif label == 3 and len(ys):
        depth = rng.uniform(0.04, 0.08)
        img += 0.3 * gaussian_filter((mask & (yy > ys.max() / s - depth)).astype(np.float32), s * 0.005)
    return (img + rng.normal(0, 0.025, img.shape))[None].astype(np.float32)


def phantom_ct(n_images: int, size: int, seed: int = 0) -> dict:
    """phantom-ct: (N, 1, size, size) in [0, 1], 5 findings, 3-6 slices per synthetic patient (label per patient)."""
    return _generate(n_images, size, seed, CT_CLASSES, CT_PREVALENCE, (3, 7), _ct)


# --- registry entry: the metadata `data list`, the UI and every card show ---
BENCHMARK = register(
    Benchmark(
        name="phantom-ct",
        modality=f"computed tomography ({COMPOSITE})",
        description=(
            "SYNTHETIC axial chest-CT slices (real CT body wall and spine, synthetic lungs and findings), 5 findings, "
            "3-6 slices per synthetic patient (label per patient); mirrors the paper's CT-RATE 2D slices."
        ),
        class_names=tuple(CT_CLASSES),
        default_size=2400,
        resolutions=(64, 128),
        generator=phantom_ct.__name__,
        signals=CT_SIGNALS,
        composition=CT_COMPOSITION,
        source_files=(CT_BODY_FILE, CT_SPINE_FILE),
    )
)
