"""Classes tab: per-class accuracy in each space and the confusion matrices side by side, for one run."""

from __future__ import annotations

from pathlib import Path


def classes_view(home: Path, run_id: str | None):
    from latentgap.plots import class_accuracy_bars, confusion_grid
    from latentgap.store import Store

    store = Store(home)
    if not run_id:
        return class_accuracy_bars(store.class_metrics("-")), confusion_grid(store.confusion("-"), [])
    names = store.class_names(run_id)
    return class_accuracy_bars(store.class_metrics(run_id)), confusion_grid(store.confusion(run_id), names)


def build_classes_tab(app, home: Path, tab):
    import gradio as gr

    from latentgap.ui.refresh import cached_view

    run = gr.Dropdown(label="run", choices=[], allow_custom_value=True)  # API clients name any stored run
    bars = gr.Plot(label="per-class accuracy")
    grid = gr.Plot(label="confusion matrices")

    def view(run_id):
        return classes_view(home, run_id)

    gr.on([tab.select, run.input], cached_view(home, view), run, [bars, grid], api_name="classes")
    return run
