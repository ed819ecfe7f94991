"""Per-sample thumbnails of a run: what the Latent explorer's hover card and selection gallery and the
Reconstructions tab show. Written once by the diagnosis job; the dashboard serves the files as they are.

<home>/thumbnails/RUN/index.json             the samples that have files, their side length and colour scales
<home>/thumbnails/RUN/<i>-image.webp          the input, at most SIDE px a side (area-averaged)
<home>/thumbnails/RUN/<i>-reconstruction.webp the AE's reconstruction, likewise (none for an encoder-only AE)
<home>/thumbnails/RUN/<i>-error.webp          |image − reconstruction| at full resolution, area-averaged, on a fixed
                                              ERROR_COLORSCALE from 0 to ERROR_MAX (intensity, images in [0, 1])
<home>/thumbnails/RUN/<i>-latent.webp         the first LATENT_CHANNELS channels of the normalised latent in a grid
                                              (2 x 2), LATENT_COLORSCALE from −LATENT_RANGE to +LATENT_RANGE

Up to MAX_SAMPLES samples per run, test split first (10–25 kB a sample). The folder is built aside and renamed into
place, so a killed run leaves a complete folder or none.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from latentgap.errors import LatentgapError
from latentgap.workspace import Workspace

SIDE = 128  # px, the longest side of a thumbnail (smaller inputs are kept at their size)
MAX_SAMPLES = 1000  # per run, test split first
ERROR_MAX = 0.2  # the error map's colour scale ends here: |x − x̂| of 0.2 (20 % of the intensity range) and above
ERROR_COLORSCALE = "Inferno"
LATENT_CHANNELS = 4
LATENT_RANGE = 1.5  # ±3 std of a latent normalised to std 0.5
LATENT_COLORSCALE = "RdBu_r"
LATENT_TILE = 64  # px a side of one latent channel (nearest-neighbour upscaled: latent cells stay visible)
KINDS = ("image", "reconstruction", "error", "latent")
SUFFIX = {"image": "webp", "reconstruction": "webp", "error": "webp", "latent": "webp"}
CHUNK = 64  # samples resized at once (bounded memory at 512 px RGB)


def thumbnail_dir(home: Path, run_id: str) -> Path:
    return Workspace(Path(home)).thumbnails(run_id)


def thumbnail_file(folder: Path, sample: int, kind: str, suffix: dict[str, str] = SUFFIX) -> Path:
    return folder / f"{int(sample)}-{kind}.{suffix[kind]}"


def colour_lut(colorscale: str) -> np.ndarray:
    """(256, 3) uint8 lookup table of a plotly colour scale (the same scale the dashboard's colour bars draw)."""
    import plotly.colors as pc

    rgb = pc.sample_colorscale(pc.get_colorscale(colorscale), np.linspace(0, 1, 256).tolist())
    return np.array([[int(float(v)) for v in c[4:-1].split(",")] for c in rgb], dtype=np.uint8)


def _area(x: np.ndarray, side: int) -> np.ndarray:
    """(N, C, H, W) float -> (N, C, h, w) float32, the longest side at most `side` (area-averaged)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    h, w = t.shape[-2:]
    if max(h, w) > side:
        t = F.interpolate(
            t, size=(max(1, round(h * side / max(h, w))), max(1, round(w * side / max(h, w)))), mode="area"
        )
    return t.numpy()


def _to_gray_if_repeated(images: np.ndarray, recons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compare as the AE saw it: a gray input repeated to RGB is compared with the reconstruction's channels, an RGB
    input to a 1-channel AE as its channel mean (as `metrics.per_sample_fidelity`)."""
    if images.shape[1] == 3 and recons.shape[1] == 1:
        images = images.mean(1, keepdims=True)
    return images, recons


def _error_maps(images: np.ndarray, recons: np.ndarray, side: int) -> np.ndarray:
    """(N, C, H, W) pairs in [0, 1] -> (N, h, w) mean-over-channels |x − x̂| at full resolution, then area-averaged."""
    images, recons = _to_gray_if_repeated(images, recons)
    err = np.abs(images.astype(np.float32) - recons.astype(np.float32)).mean(1, keepdims=True)
    return _area(err, side)[:, 0]


def _latent_grid(z: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(c, h, w) normalised latent -> uint8 RGB image of its first channels, coloured, in a near-square grid
    (4 channels: 2 x 2, row by row) with 2 px white gaps."""
    k = min(LATENT_CHANNELS, z.shape[0])
    grid = _area(z[None, :k], LATENT_TILE)[0]
    reps = max(1, LATENT_TILE // max(grid.shape[-2:]))
    grid = grid.repeat(reps, axis=-2).repeat(reps, axis=-1)  # nearest: each latent cell a visible block
    tiles = lut[np.clip((grid + LATENT_RANGE) / (2 * LATENT_RANGE) * 255, 0, 255).round().astype(np.uint8)]
    cols = int(np.ceil(np.sqrt(k)))
    rows, (th, tw) = -(-k // cols), tiles.shape[1:3]
    canvas = np.full((rows * (th + 2) - 2, cols * (tw + 2) - 2, 3), 255, np.uint8)
    for j, tile in enumerate(tiles):
        r, c = divmod(j, cols)
        canvas[r * (th + 2) : r * (th + 2) + th, c * (tw + 2) : c * (tw + 2) + tw] = tile
    return canvas


def _pixels(x: np.ndarray) -> np.ndarray:
    """(C, h, w) float in [0, 1] -> (h, w) or (h, w, 3) uint8 for PIL."""
    u8 = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    return u8[0] if u8.shape[0] == 1 else np.moveaxis(u8[:3], 0, -1)


def _save(array: np.ndarray, path: Path, lossless: bool = False) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, "WEBP", quality=90, method=4, lossless=lossless)


def save_thumbnails(
    home: Path,
    run_id: str,
    index: np.ndarray,
    images: np.ndarray,
    recons: np.ndarray | None,
    latents: np.ndarray,
) -> Path:
    """Thumbnails of samples `index`: images / recons (N, C, H, W) in [0, 1] (recons None for an encoder-only AE),
    latents (N, c, h, w) normalised as the latent classifiers saw them. Returns the run's folder."""
    folder = thumbnail_dir(home, run_id)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    error_lut, latent_lut = colour_lut(ERROR_COLORSCALE), colour_lut(LATENT_COLORSCALE)
    index = np.sort(np.asarray(index, dtype=np.int64))
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for start in range(0, len(index), CHUNK):
            idx = index[start : start + CHUNK]
            small = {"image": _area(images[idx], SIDE)}
            if recons is not None:
                x, r = _to_gray_if_repeated(images[idx], recons[idx])
                small["reconstruction"] = _area(r.mean(1, keepdims=True) if x.shape[1] == 1 else r, SIDE)
                codes = np.clip(_error_maps(x, r, SIDE) / ERROR_MAX * 255, 0, 255).round().astype(np.uint8)
                small["error"] = error_lut[codes]
            for j, i in enumerate(idx):
                for kind, arr in small.items():
                    _save(arr[j] if kind == "error" else _pixels(arr[j]), thumbnail_file(tmp, i, kind))
                _save(_latent_grid(latents[i], latent_lut), thumbnail_file(tmp, i, "latent"), lossless=True)
        meta = dict(
            samples=index.tolist(),
            kinds=[k for k in KINDS if recons is not None or k in ("image", "latent")],
            suffix=SUFFIX,  # readers take the file types from here
            side=int(max(small["image"].shape[-2:])) if len(index) else SIDE,
            error_max=ERROR_MAX,
            error_colorscale=ERROR_COLORSCALE,
            latent_channels=list(range(min(LATENT_CHANNELS, latents.shape[1]))),
            latent_range=LATENT_RANGE,
            latent_colorscale=LATENT_COLORSCALE,
        )
        (tmp / "index.json").write_text(json.dumps(meta))
        shutil.rmtree(folder, ignore_errors=True)  # a rerun of the same run id replaces it
        os.replace(tmp, folder)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LatentgapError(
            f"cannot write thumbnails to {folder.parent} ({e.strerror or e}); free disk space or make --home writable"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_thumbnail_index(home: Path, run_id: str) -> dict | None:
    """The run's index.json (with `folder` added), or None when the run stored no thumbnails (older runs)."""
    folder = thumbnail_dir(home, run_id)
    try:
        meta = json.loads((folder / "index.json").read_text())
    except (OSError, ValueError):
        return None
    return {**meta, "folder": folder}


def sample_files(meta: dict | None, sample: int) -> dict[str, Path]:
    """{kind: file} of one sample's stored thumbnails; empty when it has none."""
    if meta is None or int(sample) not in set(meta["samples"]):
        return {}
    return {kind: thumbnail_file(meta["folder"], sample, kind, meta["suffix"]) for kind in meta["kinds"]}
