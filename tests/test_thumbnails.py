"""Per-sample thumbnails: files of the right size per kind, error maps on the fixed scale, written atomically."""

import numpy as np
from PIL import Image

from latentgap.thumbnails import (
    ERROR_MAX,
    LATENT_TILE,
    SIDE,
    colour_lut,
    load_thumbnail_index,
    sample_files,
    save_thumbnails,
)


def test_thumbnails_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = (0.7 * rng.random((6, 1, 256, 256))).astype(np.float32)  # below 1 - ERROR_MAX: no clipping
    recons = np.repeat(images, 3, axis=1)  # a gray input the AE repeated to RGB: a perfect reconstruction ...
    recons[2] += ERROR_MAX  # ... except sample 2, off by the scale's top everywhere
    latents = rng.normal(0, 0.5, (6, 4, 8, 8)).astype(np.float32)
    folder = save_thumbnails(tmp_path, "run", np.array([4, 2, 0]), images, recons, latents)
    meta = load_thumbnail_index(tmp_path, "run")
    assert meta["samples"] == [0, 2, 4] and meta["side"] == SIDE and meta["folder"] == folder
    files = sample_files(meta, 2)
    assert set(files) == {"image", "reconstruction", "error", "latent"} and all(f.exists() for f in files.values())
    assert Image.open(files["image"]).size == (SIDE, SIDE)
    assert Image.open(files["reconstruction"]).size == (SIDE, SIDE)  # shown gray like the input
    grid = np.asarray(Image.open(files["latent"]).convert("RGB"))
    assert grid.shape == (2 * LATENT_TILE + 2, 2 * LATENT_TILE + 2, 3)  # four channels in 2 x 2, 2 px gaps
    cell = LATENT_TILE // 8  # each 8 x 8 latent cell is an 8 x 8 block of one colour
    assert (grid[:cell, :cell] == grid[0, 0]).all() and (grid[LATENT_TILE, :] == 255).all()
    top, bottom = colour_lut(meta["error_colorscale"])[[255, 0]]
    err = np.asarray(Image.open(files["error"]).convert("RGB"), dtype=float)
    assert np.abs(err.mean((0, 1)) - top).max() < 8  # the scale's top colour (WebP is lossy)
    perfect = np.asarray(Image.open(sample_files(meta, 0)["error"]).convert("RGB"), dtype=float)
    assert np.abs(perfect.mean((0, 1)) - bottom).max() < 8  # no error: the scale's bottom colour
    assert sample_files(meta, 1) == {}  # not thumbnailed
    assert not list(tmp_path.glob("thumbnails/.*"))  # no temporary folder left behind
    assert load_thumbnail_index(tmp_path, "other") is None


def test_encoder_only_runs_store_images_and_latents(tmp_path):
    images = np.zeros((2, 3, 64, 64), np.float32)
    save_thumbnails(tmp_path, "enc", np.arange(2), images, None, np.zeros((2, 16, 4, 4), np.float32))
    meta = load_thumbnail_index(tmp_path, "enc")
    assert meta["kinds"] == ["image", "latent"] and meta["side"] == 64  # small inputs keep their size
    assert Image.open(sample_files(meta, 1)["latent"]).size == (2 * LATENT_TILE + 2,) * 2  # 4 of the 16 channels
