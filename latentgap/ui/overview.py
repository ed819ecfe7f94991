"""Overview tab: the calibrated headline (`latentgap.headline`: matched gap, null control, excess gap, convergence),
the gap table across autoencoders x benchmarks, a grouped bar chart of the three spaces, filters,
the paired test of latent vs reconstruction beside the paper's published p-value, and a shareable HTML report of
chosen runs to download.

One profile by default (the newest measured one: `stats.default_profile`); smoke runs never enter the paired test."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from latentgap.metrics import CLASSIFICATION_METRICS
from latentgap.ui.noise import run_choices
from latentgap.ui.refresh import cached_view

TABLE_COLUMNS = [  # the calibrated gaps first, the paper's protocol after them (names as `results --kind gap`)
    "autoencoder",
    "dataset",
    "matched_gap",
    "matched_gap_ci_low",
    "matched_gap_ci_high",
    "excess_gap",
    "excess_gap_ci_low",
    "excess_gap_ci_high",
    "n_replicates",
    "converged",
    "paper_gap",
    "paper_gap_ci_low",
    "paper_gap_ci_high",
    "paper_gap_replicate_std",
    "image",
    "reconstruction",
    "latent",
    "fidelity_loss",
    "family",
    "synthetic",
    "profile",
    "seeds",
    "run_id",
]
FILTERS = ("family", "dataset", "profile")
TABLE_ROWS = 50  # rows the table sends, newest first: hundreds of runs are 100+ KB per answer and unreadable
TABLE_LABEL = (
    "gap table (test split; means over seed x fold replicates; CI = 95 % two-level bootstrap over replicates and "
    "test patients)"
)


def paired_test_line(pairs, metric: str, profile: str) -> str:
    """Markdown: the local paired test of latent vs reconstruction over the shown runs of one profile."""
    from latentgap.stats import SMOKE_PROFILES, paired_test

    if profile in SMOKE_PROFILES:
        return f"**local** ({profile}): smoke runs are a run-through check, not a measurement: no test"
    t = paired_test(pairs)
    fmt = lambda v: "n/a (needs 2 or more AE x dataset units)" if math.isnan(v) else f"{v:.2g}"
    if not t["n_pairs"]:
        return f"**local** ({profile}): no runs match the filters"
    return (
        f"**local** ({profile} profile, {metric.replace('_', ' ')}; {t['n_units']} AE x dataset units from "
        f"{t['n_pairs']} seed x fold replicates, reruns counted once): latent − reconstruction = "
        f"{t['mean_difference']:+.3f}, paired t-test p = {fmt(t['t_test_p'])}, Wilcoxon p = {fmt(t['wilcoxon_p'])}. "
        "*Not comparable with the published p below: other autoencoders, datasets, budget and number of units.*"
    )


def gap_view(home: Path, metric: str, family=None, dataset=None, profile=None):
    """(gap table, bar figure, paired-test markdown, headline markdown) for `metric`, filtered to the chosen families
    and benchmarks (empty = all) and profiles (empty = the newest measured one); the table is rounded for reading.

    Every run is read against the null controls before the filters apply, so a control the filters hide still
    gives the shown runs their excess gap."""
    from latentgap.headline import overview_headline
    from latentgap.plots import gap_bars
    from latentgap.published import published_line
    from latentgap.stats import default_profile, select_pairs
    from latentgap.store import Store

    store = Store(home)
    gap, convergence = store.gap_table(metric), store.convergence()
    every = store.gap_report(metric).rename(columns={"gap_replicate_std": "paper_gap_replicate_std"})
    profile = profile or [p for p in [default_profile(store.runs())] if p]
    shown = pd.Series(True, index=gap.index)
    for col, chosen in zip(FILTERS, (family, dataset, profile)):
        if chosen:
            shown &= gap[col].isin(chosen)
    gap, rows = gap[shown], every[shown.to_numpy()]  # gap_report keeps the table's rows and order
    paired = store.paired_scores(metric, "latent", "reconstruction")
    paired = paired[paired.run_id.isin(gap.run_id)]
    lines = [paired_test_line(select_pairs(paired, p), metric, p) for p in profile] or ["**local**: no runs yet"]
    tests = "  \n".join([*lines, published_line("latent_vs_reconstruction_p")])
    headline = overview_headline(rows, every, convergence, metric)
    return rows[TABLE_COLUMNS].round(4), gap_bars(gap, metric), tests, headline


def shown_rows(view: tuple) -> tuple:
    """gap_view's outputs with its table cut to the newest TABLE_ROWS runs (the figure and the paired test still
    read every matching run; `rows_note` says what was cut)."""
    table, *rest = view
    return table.head(TABLE_ROWS), *rest


def rows_note(n_rows: int) -> str:
    """Markdown under the table: how many of the matching runs it shows and where the rest are; empty for all."""
    if n_rows <= TABLE_ROWS:
        return ""
    return f"Showing the newest {TABLE_ROWS} of {n_rows:,} runs; the **Export** tab writes them all (CSV / Parquet)."


def filter_choices(home: Path):
    """The filters' choices from the stored runs; the profile filter starts on the newest measured profile."""
    import gradio as gr

    from latentgap.stats import default_profile
    from latentgap.store import Store

    runs = Store(home).runs()
    default = [p for p in [default_profile(runs)] if p]
    return [
        gr.Dropdown(choices=sorted(runs[c].unique().tolist()), **({"value": default} if c == "profile" else {}))
        for c in FILTERS
    ]


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


def build_overview(app, home: Path, runs_changed=None) -> None:
    """runs_changed: a component whose change means a run was stored (ui.refresh): table, figure and filters
    follow it without a click."""
    import gradio as gr

    headline = gr.Markdown(elem_id="headline")  # the tab leads with the calibrated gap (headline.py)
    with gr.Row():
        metric = gr.Dropdown(list(CLASSIFICATION_METRICS), value="balanced_accuracy", label="metric")
        filters = [
            gr.Dropdown(
                choices=[],
                value=[],
                multiselect=True,
                label=f"{c} ({'the newest measured profile' if c == 'profile' else 'all'} when empty)",
                allow_custom_value=True,
            )
            for c in FILTERS
        ]
    table = gr.Dataframe(label=TABLE_LABEL, interactive=False)
    table_note = gr.Markdown()
    plot = gr.Plot(label="image vs reconstruction vs latent")
    tests = gr.Markdown()
    refresh = gr.Button("Refresh")
    with gr.Row():
        report_runs = gr.Dropdown(
            choices=[],
            value=[],
            multiselect=True,
            label=f"report: one run, or several to compare (the newest {TABLE_ROWS} listed; any run id can be typed)",
            allow_custom_value=True,  # API clients name any run
            scale=4,
        )
        report = gr.DownloadButton("Download report", scale=1)  # holds the chosen runs' file, once written
    followed = [runs_changed.change] if runs_changed is not None else []
    gr.on([app.load, *followed], lambda: filter_choices(home), outputs=filters, api_name=False)
    gr.on(
        [app.load, refresh.click, *followed],
        lambda: gr.Dropdown(choices=run_choices(home, limit=TABLE_ROWS)),
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

    def full(metric, family, dataset, profile):
        return gap_view(home, metric, family, dataset, profile)

    full = cached_view(home, full)  # computed once per runs fingerprint and filters, read by the two below

    def view(metric, family, dataset, profile):
        return shown_rows(full(metric, family, dataset, profile))

    def note(metric, family, dataset, profile):
        return rows_note(len(full(metric, family, dataset, profile)[0]))

    gr.on(
        [app.load, metric.change, refresh.click, *followed, *(f.change for f in filters)],
        cached_view(home, view),
        inputs=[metric, *filters],
        outputs=[table, plot, tests, headline],
        api_name="gap_table",
    ).then(cached_view(home, note), inputs=[metric, *filters], outputs=table_note, api_name=False)
