"""Export tab: any stored table as CSV or Parquet (written by DuckDB-backed pandas into the workspace)."""

from __future__ import annotations

import time
from pathlib import Path

TABLES = {
    "gap table (balanced accuracy)": lambda s: s.gap_table(),
    "all metric records": lambda s: s.results(),
    "latent-structure statistics": lambda s: s.structure(),
    "learning curves (per replicate and run mean)": lambda s: s.learning_curve(),
    "runs (spec, versions, timing)": lambda s: s.runs(),
    "jobs": lambda s: s.jobs(),
}


def export_table(home: Path, table: str, fmt: str) -> str:
    """Write `table` to DIR/exports/ as csv or parquet; returns the file path (served as a download)."""
    from latentgap.errors import LatentgapError
    from latentgap.store import Store, write_table
    from latentgap.workspace import Workspace

    if table not in TABLES or fmt not in ("csv", "parquet"):
        raise LatentgapError(f"choose a table ({', '.join(TABLES)}) and csv or parquet")
    df = TABLES[table](Store(home))
    out = Workspace(Path(home)).exports
    out.mkdir(exist_ok=True)
    slug = table.split(" (")[0].replace(" ", "-")
    path = out / f"latentgap-{slug}-{time.strftime('%Y%m%d-%H%M%S')}.{fmt}"
    return str(write_table(df, path, fmt))


def build_export_tab(app, home: Path) -> None:
    import gradio as gr

    with gr.Row():
        table = gr.Dropdown(list(TABLES), value=next(iter(TABLES)), label="table")
        fmt = gr.Radio(["csv", "parquet"], value="csv", label="format")
        go_btn = gr.Button("Export")
    file = gr.File(label="download", interactive=False)
    gr.Markdown(
        "Figures: each plot's toolbar downloads a PNG. Results of SYNTHETIC benchmarks carry `synthetic = true`."
    )

    go_btn.click(lambda t, f: export_table(home, t, f), [table, fmt], file, api_name="export")
