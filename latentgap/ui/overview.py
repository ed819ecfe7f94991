"""Overview tab: the gap table across autoencoders x benchmarks, a grouped bar chart of the three spaces, filters,
the paired test of latent vs reconstruction beside the paper's published p-value, and a shareable HTML report of
chosen runs to download."""

from __future__ import annotations

import math
from pathlib import Path

from latentgap.metrics import CLASSIFICATION_METRICS
from latentgap.ui.noise import run_choices

TABLE_COLUMNS = [
    "autoencoder",
    "family",
    "dataset",
    "synthetic",
    "profile",
    "seed",
    "image",
    "reconstruction",
    "latent",
    "gap",
    "gap_ci_low",
    "gap_ci_high",
    "gap_fold_std",
    "n_folds",
    "fidelity_loss",
    "run_id",
]
FILTERS = ("family", "dataset", "profile")


def paired_test_line(paired, metric: str) -> str:
    """Markdown: the local paired test of latent vs reconstruction over the shown runs, and the published one."""
    from latentgap.published import published_line
    from latentgap.stats import paired_test

    t = paired_test(paired)
    fmt = lambda v: "n/a (needs 2 or more pairs)" if math.isnan(v) else f"{v:.2g}"
    local = (
        f"**local** ({metric.replace('_', ' ')}, {t['n_pairs']} run x fold pairs shown): latent − reconstruction "
        f"= {t['mean_difference']:+.3f}, paired t-test p = {fmt(t['t_test_p'])}, Wilcoxon p = {fmt(t['wilcoxon_p'])}"
        if t["n_pairs"]
        else "**local**: no runs match the filters"
    )
    return f"{local}  \n{published_line('latent_vs_reconstruction_p')}"


def gap_view(home: Path, metric: str, family=None, dataset=None, profile=None):
    """(gap table, bar figure, paired-test markdown) for `metric`, filtered to the chosen families, benchmarks and
    profiles (empty = all); the table is rounded for reading."""
    from latentgap.plots import gap_bars
    from latentgap.store import Store

    store = Store(home)
    gap = store.gap_table(metric)
    for col, chosen in zip(FILTERS, (family, dataset, profile)):
        if chosen:
            gap = gap[gap[col].isin(chosen)]
    paired = store.paired_scores(metric, "latent", "reconstruction")
    paired = paired[paired.run_id.isin(gap.run_id)]
    return gap[TABLE_COLUMNS].round(4), gap_bars(gap, metric), paired_test_line(paired, metric)


def filter_choices(home: Path):
    import gradio as gr

    from latentgap.store import Store

    runs = Store(home).runs()
    return [gr.Dropdown(choices=sorted(runs[c].unique().tolist())) for c in FILTERS]


def report_download(home: Path, run_ids: list[str] | None) -> tuple[str | None, str]:
    """(the chosen runs' report, written to `<home>/reports/` by report.py, for the download button; a note saying
    it is ready). Nothing while no run is chosen."""
    import gradio as gr

    from latentgap.errors import LatentgapError
    from latentgap.report import write_report

    if not run_ids:
        return None, ""
    try:
        path = write_report(home, run_ids)
    except LatentgapError as e:  # an API client's unknown run id
        raise gr.Error(str(e)) from None
    return str(path), f"ready: {path.name} ({path.stat().st_size / 1e6:.1f} MB, opens offline) — *Download report*"


def build_overview(app, home: Path) -> None:
    import gradio as gr

    with gr.Row():
        metric = gr.Dropdown(list(CLASSIFICATION_METRICS), value="balanced_accuracy", label="metric")
        filters = [
            gr.Dropdown(choices=[], value=[], multiselect=True, label=f"{c} (all when empty)", allow_custom_value=True)
            for c in FILTERS
        ]
    table = gr.Dataframe(label="gap table (test split; CI = paired bootstrap 95 %)", interactive=False)
    plot = gr.Plot(label="image vs reconstruction vs latent")
    tests = gr.Markdown()
    refresh = gr.Button("Refresh")
    with gr.Row():
        report_runs = gr.Dropdown(
            choices=[],
            value=[],
            multiselect=True,
            label="report: one run, or several to compare",
            allow_custom_value=True,  # API clients name any run
            scale=4,
        )
        report = gr.DownloadButton("Download report", scale=1)  # holds the chosen runs' file, once written
    app.load(lambda: filter_choices(home), outputs=filters, api_name=False)
    gr.on(
        [app.load, refresh.click],
        lambda: gr.Dropdown(choices=run_choices(home)),
        outputs=report_runs,
        api_name=False,
    )
    report_note = gr.Markdown()
    report_runs.input(  # the button holds no stale file while the new one is written (a few seconds)
        lambda r: (None, f"writing the report of {len(r)} run(s) ..." if r else ""),
        inputs=report_runs,
        outputs=[report, report_note],
        api_name=False,
    ).then(lambda r: report_download(home, r), inputs=report_runs, outputs=[report, report_note], api_name="report")
    gr.on(
        [app.load, metric.change, refresh.click, *(f.change for f in filters)],
        lambda m, *f: gap_view(home, m, *f),
        inputs=[metric, *filters],
        outputs=[table, plot, tests],
        api_name="gap_table",
    )
