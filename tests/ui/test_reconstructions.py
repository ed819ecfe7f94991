"""Reconstructions tab: tiles of stored thumbnails per class, two runs side by side, older runs' galleries enlarged."""

import numpy as np

from latentgap.gallery import save_gallery
from latentgap.store import Store
from latentgap.thumbnails import ERROR_COLORSCALE, colour_lut, save_thumbnails
from latentgap.ui.media import colorbar_html
from latentgap.ui.reconstructions import LEGACY_ZOOM, reconstructions_view
from tests.test_store import _metrics, _run
from tests.ui.test_explorer import NAMES, N, _projections


def _home(tmp_path, thumbnails: dict[str, bool]):
    store, rng = Store(tmp_path), np.random.default_rng(0)
    images = rng.random((N, 1, 32, 32)) * 0.5
    for run_id, current in thumbnails.items():
        run = {**_run(run_id), "autoencoder": f"zoo:{run_id}", "summary": {"class_names": NAMES}}
        recons = images + 0.1  # |error| 0.1 everywhere: the middle of the error scale
        fidelity = [dict(run_id=run_id, sample_index=i, psnr=20.0, ssim=0.5) for i in range(N)]
        tables = {"metrics": _metrics(run_id), "projections": _projections(run_id, [0] * 4, [0] * 4)}
        store.write_run(run, {**tables, "sample_fidelity": fidelity})
        if current:
            save_thumbnails(tmp_path, run_id, np.arange(N), images, recons, np.zeros((N, 4, 4, 4)))
        else:
            save_gallery(
                tmp_path, run_id, np.arange(8, N), images, recons, np.arange(N) % 2, np.full(N, 20.0), np.ones(N)
            )
    return tmp_path


def test_two_runs_side_by_side_from_stored_thumbnails(tmp_path):
    home = _home(tmp_path, {"run-a": True, "run-b": True})
    tiles, caption = reconstructions_view(home, "run-a", "run-b", per_class=2)
    assert len(tiles) == 4 * (1 + 2 * 2)  # 2 test samples of each of 2 classes x original + (recon, error) per run
    captions = [c for _, c in tiles]
    assert captions[:5] == [
        "normal #8",
        "zoo:run-a (run-a) 20.0 dB / SSIM 0.50",
        "zoo:run-a (run-a) |error|",
        "zoo:run-b (run-b) 20.0 dB / SSIM 0.50",
        "zoo:run-b (run-b) |error|",
    ]
    assert captions[5] == "normal #10" and captions[10] == "rare #9"
    assert tiles[0][0].endswith("/thumbnails/run-a/8-image.webp") and tiles[2][0].endswith("8-error.webp")
    assert caption.startswith("4 test samples; per sample: original | zoo:run-a reconstruction (PSNR / SSIM) | its")
    assert reconstructions_view(home, None, None, 1) == ([], "choose a run")


def test_an_older_run_shows_its_gallery_enlarged_on_the_same_error_scale(tmp_path):
    home = _home(tmp_path, {"old": False})
    tiles, caption = reconstructions_view(home, "old", None, per_class=1)
    assert len(tiles) == 2 * 3 and "predates per-sample thumbnails" in caption
    error = tiles[2][1]
    assert (
        error == "|error|"
        and tiles[1][1] == "20.0 dB / SSIM 0.50"
        and tiles[2][0].shape == (32 * LEGACY_ZOOM, 32 * LEGACY_ZOOM, 3)
    )
    middle = colour_lut(ERROR_COLORSCALE)[128]  # |error| 0.1 of the scale's 0.2
    assert np.abs(tiles[2][0].astype(int) - middle).max() <= 12  # uint8 thumbnails round the error


def test_colour_bar_names_units_and_ticks():
    html = colorbar_html("Inferno", 0, 0.2, "|image − reconstruction|, intensity in [0, 1]", ticks=3)
    assert "intensity in [0, 1]" in html and ">0<" in html and ">0.1<" in html and ">0.2<" in html
    assert "linear-gradient" in html
