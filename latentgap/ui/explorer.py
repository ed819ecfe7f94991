"""Latent explorer tab: UMAP of the latents next to UMAP of image-space features for the same samples, coloured by
class, split or correctness; a filtered sample list, and one sample's thumbnail and reconstruction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLOR_BY = ("class", "split", "correct")
SHOW = {
    "all test samples": lambda d: d,
    "latent wrong, image right (what the latent loses)": lambda d: d[~d.latent_correct & d.image_correct],
    "latent right, image wrong": lambda d: d[d.latent_correct & ~d.image_correct],
    "both wrong": lambda d: d[~d.latent_correct & ~d.image_correct],
}


def explorer_view(home: Path, run_id: str | None, color_by: str):
    """The two UMAP panels of a run."""
    from latentgap.plots import umap_grid
    from latentgap.store import Store

    if not run_id:
        return umap_grid({}, color_by, [])
    store = Store(home)
    proj, names = store.projections(run_id), store.class_names(run_id)
    panels = {
        "latents (normalised)": proj[proj.space == "latent"],
        "image-space features (pooled pixels)": proj[proj.space == "image"],
    }
    return umap_grid(panels, color_by, names)


def sample_table(home: Path, run_id: str | None, show: str) -> pd.DataFrame:
    """Test samples with their class and the latent / image classifiers' predictions, filtered by `show`."""
    from latentgap.store import Store

    cols = ["sample", "class", "latent predicted", "image predicted"]
    if not run_id:
        return pd.DataFrame(columns=cols)
    store = Store(home)
    proj, names = store.projections(run_id), store.class_names(run_id)
    test = proj[proj.predicted.notna()]
    if test.empty:
        return pd.DataFrame(columns=cols)
    by_space = {space: test[test.space == space].set_index("sample_index") for space in ("latent", "image")}
    d = by_space["latent"][["label"]].assign(latent=by_space["latent"].predicted, image=by_space["image"].predicted)
    d = d.dropna().reset_index()  # samples both spaces predicted
    d["latent_correct"], d["image_correct"] = d.latent == d.label, d.image == d.label
    d = SHOW[show](d)
    name = lambda c: names[int(c)] if int(c) < len(names) else str(c)
    return pd.DataFrame(
        {
            "sample": d.sample_index.astype(int),
            "class": d.label.map(name),
            "latent predicted": d.latent.map(name),
            "image predicted": d.image.map(name),
        }
    )


def sample_view(home: Path, run_id: str | None, sample: int | None):
    """(image, reconstruction, caption) of one sample from the run's gallery."""
    from latentgap.errors import LatentgapError
    from latentgap.gallery import load_gallery
    from latentgap.plots import thumbnail_rgb

    if not run_id or sample is None:
        return None, None, "pick a sample from the list"
    g = load_gallery(home, run_id)
    if g is None:
        raise LatentgapError(f"run {run_id} has no stored gallery (it predates galleries); re-run the diagnosis")
    hits = (g["index"] == int(sample)).nonzero()[0]
    if not len(hits):
        raise LatentgapError(
            f"sample {sample} has no thumbnail: the gallery keeps {len(g['index'])} samples, test first"
        )
    k = int(hits[0])
    caption = f"sample {sample}: reconstruction PSNR {g['psnr'][k]:.1f} dB, SSIM {g['ssim'][k]:.3f}"
    zoom = lambda t: np.kron(thumbnail_rgb(t), np.ones((4, 4, 1), np.uint8))
    return zoom(g["image"][k]), zoom(g["reconstruction"][k]), caption


def build_explorer_tab(app, home: Path, tab):
    import gradio as gr

    with gr.Row():
        run = gr.Dropdown(label="run", choices=[], scale=3, allow_custom_value=True)
        color_by = gr.Radio(list(COLOR_BY), value="class", label="colour by", scale=1)
    plot = gr.Plot(label="UMAP: latents vs image space")
    with gr.Row():
        with gr.Column(scale=2):
            show = gr.Dropdown(list(SHOW), value=next(iter(SHOW)), label="test samples")
            table = gr.Dataframe(
                label="samples (click a row)", interactive=False, max_height=320, elem_id="explorer-samples"
            )
        with gr.Column(scale=1):
            sample = gr.Number(label="sample", value=None, precision=0)
            with gr.Row():
                image = gr.Image(label="image", height=160, interactive=False)
                recon = gr.Image(label="reconstruction", height=160, interactive=False)
            caption = gr.Markdown()

    def pick(evt):
        return int(evt.row_value[0])  # the clicked row's "sample" column

    pick.__annotations__["evt"] = gr.SelectData  # a real class: postponed annotations would hide it from Gradio

    gr.on(
        [tab.select, run.input, color_by.input],
        lambda r, c: explorer_view(home, r, c),
        inputs=[run, color_by],
        outputs=plot,
        api_name="explorer",
    )
    gr.on(
        [tab.select, run.input, show.input],
        lambda r, s: sample_table(home, r, s),
        inputs=[run, show],
        outputs=table,
        api_name="explorer_samples",
    )
    table.select(pick, outputs=sample, api_name=False)
    sample.change(
        lambda r, s: sample_view(home, r, s), inputs=[run, sample], outputs=[image, recon, caption], api_name="sample"
    )
    return run
