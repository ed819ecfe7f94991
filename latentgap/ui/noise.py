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


def fill_run_pickers(home: Path, n_newest: int, n_optional: int = 0, current=()) -> list:
    """Run dropdown updates for every per-run tab from one store query: `n_newest` with the newest run selected,
    then `n_optional` that start at "none" (e.g. the second run of a side-by-side view). With `current` (the
    pickers' values, on a refresh after a new run) a picker keeps its run while that run is stored."""
    import gradio as gr

    choices = run_choices(home)
    stored = {c[1] for c in choices}
    current = list(current) + [None] * (n_newest + n_optional - len(current))
    newest = choices[0][1] if choices else None
    out = []
    for i, value in enumerate(current):
        if i < n_newest:
            out.append(gr.Dropdown(choices=choices, value=value if value in stored else newest))
        else:
            out.append(gr.Dropdown(choices=[("none", ""), *choices], value=value if value in stored else ""))
    return out


def noise_view(home: Path, run_id: str | None, metric: str):
    from latentgap.plots import noise_curves
    from latentgap.store import Store

    store = Store(home)
    if not run_id:
        return noise_curves(store.noise_curves("-"), store.results().head(0), metric)
    results = store.results(run_id)
    clean = results[results.noise_level.isna()]
    return noise_curves(store.noise_curves(run_id), clean, metric)


def build_noise_tab(app, home: Path, tab):
    import gradio as gr

    with gr.Row():
        run = gr.Dropdown(  # API clients name any run
            label="run", choices=[], scale=3, allow_custom_value=True, elem_id="noise-run"
        )
        metric = gr.Dropdown(["balanced_accuracy", "auroc"], value="balanced_accuracy", label="metric", scale=1)
    plot = gr.Plot(label="per-noise-level accuracy")

    gr.on(
        [tab.select, run.input, metric.input],
        lambda r, m: noise_view(home, r, m),
        inputs=[run, metric],
        outputs=plot,
        api_name="noise_curves",
    )
    return run
