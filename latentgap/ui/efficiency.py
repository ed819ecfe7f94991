"""Efficiency tab: throughput and memory of the latent vs image classifiers from the benchmark suite
(`python -m latentgap bench`, JSON in benchmarks/results/), next to the paper's published 64x / 120x."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COMPARISON_COLUMNS = [
    "results",
    "latent",
    "image",
    "train_throughput_ratio",
    "infer_throughput_ratio",
    "memory_ratio",
    "memory_measure",
    "flop_ratio",
]


def comparisons(results: dict[str, dict]) -> pd.DataFrame:
    """One row per latent-vs-image comparison of every bench results file ({file stem: results})."""
    rows = [
        dict(results=stem, **c) for stem, r in results.items() for c in r.get("classifiers", {}).get("comparisons", [])
    ]
    df = pd.DataFrame(rows)
    return df.reindex(columns=COMPARISON_COLUMNS) if not df.empty else pd.DataFrame(columns=COMPARISON_COLUMNS)


def efficiency_view(results_dir: Path | None = None):
    """(ratio figure, comparison table, caption) from the stored bench results."""
    from latentgap.plots import efficiency_bars
    from latentgap.published import published_line
    from latentgap.resources import load_bench_results

    results = load_bench_results(results_dir)
    table = comparisons(results)
    machines = "; ".join(
        f"`{stem}`: {r['machine'].get('cpu')} ({r['device']}, {r['created']})" for stem, r in results.items()
    )
    includes = next((r["classifiers"]["includes"] for r in results.values() if "classifiers" in r), "")
    caption = (
        f"Measured by `python -m latentgap bench` — {machines or 'no results yet: run it'}.  \n{includes}  \n"
        f"{published_line('latent_vs_image.throughput_ratio')}  \n{published_line('latent_vs_image.memory_ratio')}"
    )
    return efficiency_bars(table), table.round(2), caption


def build_efficiency_tab(app, home: Path, tab) -> None:
    import gradio as gr

    plot = gr.Plot(label="latent over image classifier")
    table = gr.Dataframe(label="comparisons (ratios of medians, same batch size, same run)", interactive=False)
    caption = gr.Markdown()
    tab.select(lambda: efficiency_view(), outputs=[plot, table, caption], api_name="efficiency")
