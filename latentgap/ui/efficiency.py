"""Efficiency tab: throughput and memory of the latent vs image classifiers from the benchmark suite
(`python -m latentgap bench`), next to the paper's published 64x / 120x. The project's reference figures (its
benchmarks/results/) sit beside this machine's, measured on demand by the "Measure this machine" button."""

from __future__ import annotations

import subprocess
import sys
import time
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
THIS_MACHINE = "this-machine"  # the results file the button writes into the workspace


def comparisons(results: dict[str, dict]) -> pd.DataFrame:
    """One row per latent-vs-image comparison of every bench results file ({file stem: results})."""
    rows = [
        dict(results=stem, **c) for stem, r in results.items() for c in r.get("classifiers", {}).get("comparisons", [])
    ]
    df = pd.DataFrame(rows)
    return df.reindex(columns=COMPARISON_COLUMNS) if not df.empty else pd.DataFrame(columns=COMPARISON_COLUMNS)


def _all_results(home: Path | None, results_dir: Path | None) -> dict[str, dict]:
    """The project's reference results, then this machine's (named `this-machine`) when it was measured."""
    from latentgap.resources import load_bench_results
    from latentgap.workspace import Workspace

    results = load_bench_results(results_dir)
    mine = Workspace(Path(home)).bench_results / f"{THIS_MACHINE}.json" if home else None
    if mine is not None and mine.exists():
        results.update(load_bench_results(mine.parent))
    return results


def efficiency_view(home: Path | None = None, results_dir: Path | None = None):
    """(ratio figure, comparison table, caption) from the stored bench results."""
    from latentgap.plots import efficiency_bars
    from latentgap.published import published_line

    results = _all_results(home, results_dir)
    table = comparisons(results)
    machines = "; ".join(
        f"`{stem}`{' (this machine)' if stem == THIS_MACHINE else ' (project reference)'}: "
        f"{r['machine'].get('cpu')} ({r['device']}, {r['created']})"
        for stem, r in results.items()
    )
    includes = next((r["classifiers"]["includes"] for r in results.values() if "classifiers" in r), "")
    caption = (
        f"Measured by `python -m latentgap bench` — {machines or 'no results yet: run it'}.  \n{includes}  \n"
        f"{published_line('latent_vs_image.throughput_ratio')}  \n{published_line('latent_vs_image.memory_ratio')}"
    )
    return efficiency_bars(table), table.round(2), caption


def measure_this_machine(home: Path, timeout_s: float = 900) -> str:
    """Run the bench's classifier section (quick) here, in its own process, into the workspace; a status line.

    A subprocess (the CLI), not an import: the benchmark suite is tooling outside the library core."""
    from latentgap.workspace import Workspace

    out = Workspace(Path(home)).bench_results / f"{THIS_MACHINE}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "latentgap", "bench", "--quick", "--sections", "classifiers", "--json", str(out)]
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"measurement failed: {last[:300]}"
    return f"measured this machine in {time.monotonic() - t0:.0f} s: the `{THIS_MACHINE}` bars"


def build_efficiency_tab(app, home: Path, tab) -> None:
    import gradio as gr

    plot = gr.Plot(label="latent classifier's advantage over the image classifier")
    table = gr.Dataframe(label="comparisons (ratios of medians, same batch size, same run)", interactive=False)
    caption = gr.Markdown()
    with gr.Row():
        measure = gr.Button("Measure this machine (about 1-3 min)")
        status = gr.Markdown()
    tab.select(lambda: efficiency_view(home), outputs=[plot, table, caption], api_name="efficiency")
    measure.click(lambda: measure_this_machine(home), outputs=status, api_name="measure_efficiency").then(
        lambda: efficiency_view(home), outputs=[plot, table, caption], api_name=False
    )
