"""What two runs of one diagnosis must share to count as the same result (Ray against in-process): every stored
record of the run, without its id and time, in a fixed row order (Ray records arms as they finish). Used by
tests/test_ray_backend.py and scripts/ray_vs_local.py."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from latentgap.store import Store


def stored_records(home: Path, run_id: str) -> dict[str, pd.DataFrame]:
    """The run's metrics, per-class metrics, confusion cells, structure statistics, training histories and
    projection points, each sorted on all its columns."""
    store = Store(home)
    tables = {
        "metrics": store.results(run_id).drop(columns=["run_id", "created_at"]),
        "class_metrics": store.class_metrics(run_id),
        "confusion": store.confusion(run_id),
        "structure": store.structure().query("run_id == @run_id").drop(columns=["run_id"]),
        "training": store.training(run_id).drop(columns=["run_id"]),
        "projections": store.projections(run_id),
    }
    return {
        name: df.sort_values(list(df.columns), key=lambda c: c.astype(str)).reset_index(drop=True)
        for name, df in tables.items()
    }
