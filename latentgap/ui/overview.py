"""Overview tab: the gap table across autoencoders x benchmarks and a grouped bar chart of the three spaces."""

from __future__ import annotations

from pathlib import Path

from latentgap.metrics import CLASSIFICATION_METRICS

TABLE_COLUMNS = ["autoencoder", "dataset", "synthetic", "profile", "seed", "image", "reconstruction", "latent",
                 "gap", "gap_ci_low", "gap_ci_high", "gap_fold_std", "n_folds", "fidelity_loss", "run_id"]  # fmt: skip


def gap_view(home: Path, metric: str):
    """(gap table, bar figure) for `metric`; the table is rounded for reading."""
    from latentgap.plots import gap_bars
    from latentgap.store import Store

    gap = Store(home).gap_table(metric)
    return gap[TABLE_COLUMNS].round(4), gap_bars(gap, metric)


def build_overview(app, home: Path) -> None:
    import gradio as gr

    metric = gr.Dropdown(list(CLASSIFICATION_METRICS), value="balanced_accuracy", label="metric")
    table = gr.Dataframe(label="gap table (test split; CI = paired bootstrap 95 %)", interactive=False)
    plot = gr.Plot(label="image vs reconstruction vs latent")
    refresh = gr.Button("Refresh")
    gr.on([app.load, metric.change, refresh.click], lambda m: gap_view(home, m), inputs=metric,
          outputs=[table, plot], api_name="gap_table")  # fmt: skip
