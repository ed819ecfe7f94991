"""Noise curves tab: per-noise-level accuracy of the plain, noise-trained, FiLM and distilled latent classifiers."""

from __future__ import annotations

from pathlib import Path


def run_choices(home: Path) -> list[tuple[str, str]]:
    from latentgap.store import Store

    runs = Store(home).runs()
    return [
        (f"{r.autoencoder} · {r.dataset} · {r.profile} · seed {r.seed} · {r.run_id}", r.run_id)
        for r in runs.itertuples()
    ]


def run_dropdown(home: Path):
    """A run dropdown refreshed from the store, newest run selected (shared by the per-run tabs)."""
    import gradio as gr

    choices = run_choices(home)
    return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)


def noise_view(home: Path, run_id: str | None, metric: str):
    from latentgap.plots import noise_curves
    from latentgap.store import Store

    store = Store(home)
    if not run_id:
        return noise_curves(store.noise_curves("-"), store.results().head(0), metric)
    results = store.results()
    clean = results[(results.run_id == run_id) & results.noise_level.isna()]
    return noise_curves(store.noise_curves(run_id), clean, metric)


def build_noise_tab(app, home: Path) -> None:
    import gradio as gr

    with gr.Row():
        run = gr.Dropdown(label="run", choices=[], scale=3)
        metric = gr.Dropdown(["balanced_accuracy", "auroc"], value="balanced_accuracy", label="metric", scale=1)
    plot = gr.Plot(label="per-noise-level accuracy")

    app.load(lambda: run_dropdown(home), outputs=run, api_name="runs")
    gr.on([run.change, metric.change], lambda r, m: noise_view(home, r, m), inputs=[run, metric], outputs=plot,
          api_name="noise_curves")  # fmt: skip
