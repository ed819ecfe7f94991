"""Reconstructions tab: original / reconstruction / error map of test samples per class, for one autoencoder or two
side by side (runs on the same benchmark and seed show the same samples), from the runs' stored thumbnails; a
click on a tile enlarges it, and colour bars label the error map's units.

Runs stored before per-sample thumbnails show their small gallery (48 px), enlarged, with the error map taken
from those thumbnails on the same colour scale. A note says where the two runs differ in benchmark,
profile or seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LEGACY_ZOOM = 3  # 48 px gallery thumbnails of older runs are shown at 144 px (nearest neighbour)


def _test_samples(store, run_id: str) -> dict[int, int]:
    """{sample: label} of the run's test split, in sample order (from its stored projections)."""
    proj = store.projections(run_id)
    test = proj[(proj.split == "test")].drop_duplicates("sample_index")
    return dict(zip(test.sample_index.astype(int), test.label.astype(int)))


def _legacy_tiles(gallery: dict, sample: int) -> dict[str, np.ndarray]:
    """image / reconstruction / error arrays (h, w, 3) of one sample of an older run's 48 px gallery."""
    from latentgap.plots import thumbnail_rgb
    from latentgap.thumbnails import ERROR_COLORSCALE, ERROR_MAX, colour_lut

    k = int(np.searchsorted(gallery["index"], sample))
    image, recon = gallery["image"][k].astype(np.float32), gallery["reconstruction"][k].astype(np.float32)
    if image.shape[0] != recon.shape[0]:
        image, recon = image.mean(0, keepdims=True), recon.mean(0, keepdims=True)
    err = np.abs(image - recon).mean(0) / 255
    codes = np.clip(err / ERROR_MAX * 255, 0, 255).round().astype(np.uint8)
    zoom = lambda a: a.repeat(LEGACY_ZOOM, 0).repeat(LEGACY_ZOOM, 1)
    return {
        "image": zoom(thumbnail_rgb(gallery["image"][k])),
        "reconstruction": zoom(thumbnail_rgb(gallery["reconstruction"][k])),
        "error": zoom(colour_lut(ERROR_COLORSCALE)[codes]),
    }


def _source(home: Path, run_id: str):
    """(what to read tiles from, sample set): the run's thumbnails, else its legacy gallery, else nothing."""
    from latentgap.gallery import load_gallery
    from latentgap.thumbnails import load_thumbnail_index

    meta = load_thumbnail_index(home, run_id)
    if meta is not None and "reconstruction" in meta["kinds"]:
        return meta, set(meta["samples"])
    gallery = load_gallery(home, run_id)
    return (gallery, set(gallery["index"].tolist())) if gallery is not None else (None, set())


def _tiles(source, sample: int) -> dict:
    from latentgap.thumbnails import sample_files

    if "kinds" in source:  # thumbnails: files served as they are
        return {k: str(v) for k, v in sample_files(source, sample).items()}
    return _legacy_tiles(source, sample)


def reconstructions_view(home: Path, run_a: str | None, run_b: str | None, per_class: int) -> tuple[list, str]:
    """(gallery tiles, caption): per class `per_class` test samples stored by every chosen run, each as original |
    reconstruction | error map per run, with the class, sample and PSNR / SSIM in the captions."""
    from latentgap.store import Store

    run_ids = list(dict.fromkeys(r for r in (run_a, run_b) if r))
    if not run_ids:
        return [], "choose a run"
    store = Store(home)
    runs = store.runs().set_index("run_id")
    names = store.class_names(run_ids[0])
    sources = {r: _source(home, r) for r in run_ids}
    missing = [r for r, (src, _) in sources.items() if src is None]
    if missing:
        return [], f"no reconstructions stored for run {', '.join(missing)} (an encoder-only AE, or an older run)"
    test = _test_samples(store, run_ids[0])
    shared = set(test).intersection(*(samples for _, samples in sources.values()))
    fidelity = {r: store.sample_fidelity(r).set_index("sample_index") for r in run_ids}
    tiles = []
    for c in range(len(names)):
        for i in [s for s in test if test[s] == c and s in shared][: int(per_class)]:
            for j, r in enumerate(run_ids):
                t = _tiles(sources[r][0], i)
                label = (
                    f"{runs.loc[r, 'autoencoder']} ({r[-6:]}) " if len(run_ids) > 1 else ""
                )  # one run: the caption names it
                f = fidelity[r].loc[i] if i in fidelity[r].index else None
                score = f"{f.psnr:.1f} dB / SSIM {f.ssim:.2f}" if f is not None else "reconstruction"
                if j == 0:
                    tiles.append((t["image"], f"{names[c]} #{i}"))
                tiles += [(t["reconstruction"], f"{label}{score}"), (t["error"], f"{label}|error|")]
    if not tiles:
        return [], "the chosen runs share no stored test samples: compare runs on the same benchmark and seed"
    legacy = [r for r, (src, _) in sources.items() if "kinds" not in src]
    caption = f"{len(tiles) // (1 + 2 * len(run_ids))} test samples; per sample: original" + "".join(
        f" | {runs.loc[r, 'autoencoder']} reconstruction (PSNR / SSIM) | its error map" for r in run_ids
    )
    if legacy:
        caption += f" — run {', '.join(legacy)} predates per-sample thumbnails: its 48 px gallery is shown enlarged"
    return tiles, caption


def runs_note(home: Path, run_a: str | None, run_b: str | None) -> str:
    """Markdown: where the two runs side by side differ (benchmark, profile, seed); empty for one run or none."""
    from latentgap.store import Store
    from latentgap.ui.compare import differences_note

    run_ids = list(dict.fromkeys(r for r in (run_a, run_b) if r))
    if len(run_ids) < 2:
        return ""
    runs = Store(home).runs().set_index("run_id")
    runs = runs.loc[[r for r in run_ids if r in runs.index]].reset_index()
    runs["name"] = [f"{a} ({r[-6:]})" for a, r in zip(runs.autoencoder, runs.run_id)]
    return differences_note(runs, label="name")


def build_reconstructions_tab(app, home: Path, tab):
    import gradio as gr

    from latentgap.thumbnails import ERROR_COLORSCALE, ERROR_MAX
    from latentgap.ui.media import colorbar_html, serve_media
    from latentgap.ui.refresh import cached_view

    serve_media(home)
    with gr.Row():
        run_a = gr.Dropdown(label="run", choices=[], scale=3, allow_custom_value=True)
        run_b = gr.Dropdown(label="second run, side by side (optional)", choices=[], scale=3, allow_custom_value=True)
        per_class = gr.Slider(1, 4, value=2, step=1, label="samples per class", scale=1)
    note = gr.Markdown(elem_id="reconstructions-note")
    gr.HTML(
        colorbar_html(
            ERROR_COLORSCALE,
            0,
            ERROR_MAX,
            f"error map: |image − reconstruction| per pixel, intensity in [0, 1] (≥ {ERROR_MAX:g} saturates)",
            width_px=360,
        )
    )
    caption = gr.Markdown(elem_id="reconstructions-caption")
    gallery = gr.Gallery(
        label="test samples per class (click a tile to enlarge)",
        columns=6,
        height=900,
        object_fit="contain",
        elem_id="reconstructions-gallery",
    )

    def view(a, b, k):
        tiles, text = reconstructions_view(home, a, b, k)
        per_sample = 1 + 2 * len(
            {r for r in (a, b) if r}
        )  # one run: two samples a row, two runs: one (tiles >= 128 px)
        return gr.Gallery(value=tiles, columns=per_sample * (2 if per_sample == 3 else 1)), text

    gr.on(
        [tab.select, run_a.input, run_b.input, per_class.release],
        cached_view(home, view),
        inputs=[run_a, run_b, per_class],
        outputs=[gallery, caption],
        api_name="reconstructions",
    )
    gr.on(
        [tab.select, run_a.input, run_b.input],
        lambda a, b: runs_note(home, a, b),
        inputs=[run_a, run_b],
        outputs=note,
        api_name=False,  # the /reconstructions endpoint keeps answering with the figure alone
    )
    return run_a, run_b
