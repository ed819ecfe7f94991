"""Reconstructions tab: original / reconstruction / |difference| grids per class with PSNR and SSIM, for one
autoencoder or two side by side (runs on the same benchmark and seed show the same samples; a note says where the
two runs differ in benchmark, profile or seed)."""

from __future__ import annotations

from pathlib import Path


def galleries_of(home: Path, run_ids: list[str]) -> tuple[dict, list[str]]:
    """{label: gallery} for the runs, and the first run's class names; labels name autoencoder and run."""
    from latentgap.gallery import load_gallery
    from latentgap.store import Store

    store = Store(home)
    runs = store.runs().set_index("run_id")
    galleries, names = {}, []
    for r in run_ids:
        names = names or store.class_names(r)
        galleries[f"{runs.loc[r, 'autoencoder']} ({r[-6:]})"] = load_gallery(home, r)
    return galleries, names


def reconstructions_view(home: Path, run_a: str | None, run_b: str | None, per_class: int):
    from latentgap.plots import reconstruction_grid

    run_ids = [r for r in (run_a, run_b) if r]
    if not run_ids:
        return reconstruction_grid({}, [], 1)
    galleries, names = galleries_of(home, list(dict.fromkeys(run_ids)))
    return reconstruction_grid(galleries, names, int(per_class))


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

    with gr.Row():
        run_a = gr.Dropdown(label="run", choices=[], scale=3, allow_custom_value=True)
        run_b = gr.Dropdown(label="second run, side by side (optional)", choices=[], scale=3, allow_custom_value=True)
        per_class = gr.Slider(1, 4, value=2, step=1, label="samples per class", scale=1)
    note = gr.Markdown(elem_id="reconstructions-note")
    plot = gr.Plot(label="reconstruction grid")

    gr.on(
        [tab.select, run_a.input, run_b.input, per_class.release],
        lambda a, b, k: reconstructions_view(home, a, b, k),
        inputs=[run_a, run_b, per_class],
        outputs=plot,
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
