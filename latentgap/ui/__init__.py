"""The Gradio dashboard. `build_app()` does no heavy work at import; handlers read the store and return
tables and plotly figures built by pure functions in `latentgap.plots`. A per-run tab computes its view when it is
opened (`tab.select`) or a control is changed by the user (`.input`), never for every tab at page load. When a run
is stored while the page is open, the views that list runs follow (`refresh.build_run_watch`)."""

from __future__ import annotations

import os
from pathlib import Path

from latentgap.ui.classes import build_classes_tab
from latentgap.ui.compare import build_compare_tab
from latentgap.ui.diagnose import build_diagnose_tab
from latentgap.ui.efficiency import build_efficiency_tab
from latentgap.ui.explorer import build_explorer_tab
from latentgap.ui.export import build_export_tab
from latentgap.ui.guard import guard_handlers
from latentgap.ui.noise import MAX_PICKER_RUNS, build_noise_tab, fill_run_pickers, picker_filters
from latentgap.ui.overview import build_overview
from latentgap.ui.reconstructions import build_reconstructions_tab
from latentgap.ui.refresh import build_run_watch, cached_view
from latentgap.workspace import Workspace


def build_app(home: Path, supervisor=None):
    import gradio as gr

    with gr.Blocks(title="latentgap") as app:
        ticker = gr.Timer(2.0)  # one timer for the job list and the run watch
        runs_changed = build_run_watch(app, home, ticker)
        gr.Markdown(
            "# latentgap — the learnability gap of image autoencoders\n"
            "Same classifier recipe trained on **images**, their **reconstructions** and the **latents**. "
            "Three gaps (classifier score on reconstructions − on latents): **matched gap**, one network on both "
            "(the headline); **excess gap**, the matched gap minus the lossless null control's (`zoo:null-s2d`); "
            "**paper gap**, the paper's protocol (ResNet on reconstructions − ConvNeXt on latents). "
            "**Fidelity loss** = image − reconstruction. "
            "The default benchmark is **real** (Kermany chest X-rays); the `phantom-*` benchmarks are **SYNTHETIC**."
        )
        with gr.Accordion(
            f"Run pickers list the newest {MAX_PICKER_RUNS} runs (any run id can be typed): filter them", open=False
        ):
            with gr.Row():
                pick_filters = [
                    gr.Dropdown(choices=[], value=[], multiselect=True, label=f"{name} (all when empty)")
                    for name in ("benchmark", "profile")
                ]
        with gr.Tabs():
            with gr.Tab("Overview"):
                build_overview(app, home, runs_changed)
            with gr.Tab("Diagnose"):
                build_diagnose_tab(app, home, supervisor, ticker)
            with gr.Tab("Compare") as tab:
                build_compare_tab(app, home, tab, runs_changed)
            with gr.Tab("Latent explorer") as tab:
                explorer_run = build_explorer_tab(app, home, tab)
            with gr.Tab("Reconstructions") as tab:
                recon_a, recon_b = build_reconstructions_tab(app, home, tab)
            with gr.Tab("Noise curves") as tab:
                noise_run = build_noise_tab(app, home, tab)
            with gr.Tab("Classes") as tab:
                classes_run = build_classes_tab(app, home, tab)
            with gr.Tab("Efficiency") as tab:
                build_efficiency_tab(app, home, tab)
            with gr.Tab("Export"):
                build_export_tab(app, home)
        pickers = [noise_run, classes_run, explorer_run, recon_a]  # one store query fills every run dropdown
        shown = [*pickers, recon_b]

        def runs(dataset, profile, *current):
            return fill_run_pickers(home, len(pickers), 1, current, dataset, profile)

        # a new run or a filter change: every picker lists the newest matching runs and keeps the run it shows
        gr.on(
            [runs_changed.change, *(f.input for f in pick_filters)],
            runs,
            inputs=[*pick_filters, *shown],
            outputs=shown,
            api_name=False,
            show_progress="hidden",
        )
        gr.on([app.load, runs_changed.change], lambda: picker_filters(home), outputs=pick_filters, api_name=False)

        def newest_runs():
            return fill_run_pickers(home, len(pickers), 1)

        app.load(cached_view(home, newest_runs), outputs=shown, api_name="runs")
    guard_handlers(app)  # a user error: its one line in the page and the log, no traceback
    return app


def launch(
    home: Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    max_upload_mb: float = 2048,
    **kwargs,
):
    """Serve the dashboard with a supervised job worker; Gradio's temp files stay inside the workspace."""
    from latentgap.jobs import WorkerSupervisor

    os.environ.setdefault("GRADIO_TEMP_DIR", str(Workspace(Path(home)).gradio_tmp))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Gradio summarises its per-event records (up to 10,000, into a DataFrame) after every request by default: tens of
    # ms per request once a dashboard has served thousands; every 1,000 events is plenty for its monitoring page
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    supervisor = WorkerSupervisor(home)
    supervisor.ensure_running()  # requeues jobs a previous app left running
    app = build_app(home, supervisor)
    try:
        app.queue(default_concurrency_limit=4).launch(
            server_name=host,
            server_port=port,
            show_error=False,
            auth=auth,
            max_file_size=f"{max_upload_mb}mb",
            allowed_paths=[str(Workspace(Path(home)).reports)],  # the Overview's report downloads
            **kwargs,
        )
    finally:
        supervisor.stop()
