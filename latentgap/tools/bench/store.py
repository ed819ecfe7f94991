"""Store: latency of every named DuckDB query with 1 million stored metric rows and 100k projection points.

The rows are SYNTHETIC (runs named `bench-synthetic-*`, in a temporary workspace, never the user's store) but
shaped like `diagnose`'s: per run, every arm x metric x fold, the noise curves at 32 levels, per-class
accuracy, confusion cells and structure statistics; one run also holds 100k projection points. Everything is
written through `Store.write_run`, so the bench also times the real write path.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

SPACES = (
    "image",
    "reconstruction",
    "latent",
    "latent-resnet",
    "latent-noise",
    "latent-film",
    "latent-film-distilled",
    "gap",
    "fidelity_loss",
    "probe-linear",
    "probe-knn",
    "probe-linear-image",
    "probe-knn-image",
)
NOISE_SPACES = ("latent", "latent-noise", "latent-film", "latent-film-distilled")
FOLDS, CLASSES, LEVELS = 5, 3, 32
# the queries the dashboard's handlers call (latentgap/ui/); the others serve the CLI, and results(all) the Export
# tab's full download
DASHBOARD_QUERIES = (
    "gap_table",
    "runs",
    "noise_curves(run)",
    "results(run)",
    "class_metrics",
    "confusion",
    "projections",
    "jobs",
)
QUERIES = {
    "gap_table": lambda s, run: s.gap_table(),
    "runs": lambda s, run: s.runs(),
    "noise_curves(run)": lambda s, run: s.noise_curves(run),
    "noise_curves(all)": lambda s, run: s.noise_curves(),
    "results(run)": lambda s, run: s.results(run),
    "results(all)": lambda s, run: s.results(),
    "class_metrics": lambda s, run: s.class_metrics(run),
    "confusion": lambda s, run: s.confusion(run),
    "projections": lambda s, run: s.projections(run),
    "jobs": lambda s, run: s.jobs(),
    "structure": lambda s, run: s.structure(),
    "fidelity": lambda s, run: s.fidelity(),
    "paired_scores": lambda s, run: s.paired_scores(),
    "run_spec": lambda s, run: s.run_spec(run),
}


def metric_template() -> pd.DataFrame:
    """One run's metric rows (arm, quantity, metric, fold, noise_level) as diagnose writes them, with the paper's
    5 folds."""
    from latentgap.metrics import CLASSIFICATION_METRICS
    from latentgap.records import DIFFERENCES, FIDELITY, SCORE

    arm_quantity = lambda s: (None, s) if s in DIFFERENCES else (s, SCORE)
    clean = [
        (*arm_quantity(s), m, f, None) for s, m, f in itertools.product(SPACES, CLASSIFICATION_METRICS, range(FOLDS))
    ]
    noisy = [
        (s, SCORE, m, f, float(level))
        for s, m, f, level in itertools.product(
            NOISE_SPACES, ("balanced_accuracy", "auroc"), range(FOLDS), np.geomspace(0.002, 80, LEVELS)
        )
    ]
    fidelity = [(None, FIDELITY, m, None, None) for m in ("psnr", "ssim")]
    return pd.DataFrame(clean + noisy + fidelity, columns=["arm", "quantity", "metric", "fold", "noise_level"])


def _run_tables(run_id: str, n_metrics: int, template: pd.DataFrame, rng) -> dict[str, list[dict]]:
    m = template.iloc[np.arange(n_metrics) % len(template)].assign(run_id=run_id, value=rng.random(n_metrics))
    m = m.assign(ci_low=m.value - 0.05, ci_high=m.value + 0.05)
    per_class = list(itertools.product(SPACES[:7], range(FOLDS), range(CLASSES)))
    return dict(
        metrics=m.to_dict("records"),
        class_metrics=[
            dict(
                run_id=run_id,
                arm=s,
                fold=f,
                class_index=c,
                class_name=f"class-{c}",
                support=100,
                accuracy=float(rng.random()),
            )
            for s, f, c in per_class
        ],
        confusion=[
            dict(run_id=run_id, arm=s, fold=f, true_class=c, pred_class=p, count=int(rng.integers(100)))
            for (s, f, c), p in itertools.product(per_class, range(CLASSES))
        ],
        structure=[
            dict(run_id=run_id, statistic=f"statistic-{k}", channel=k % 4, value=float(rng.random())) for k in range(16)
        ],
    )


def _projection_rows(run_id: str, n: int, rng) -> list[dict]:
    half = n // 2
    df = pd.DataFrame(
        dict(
            run_id=run_id,
            fold=0,
            space=np.repeat(["latent", "image"], [half, n - half]),
            sample_index=np.r_[np.arange(half), np.arange(n - half)],
            x=rng.normal(size=n),
            y=rng.normal(size=n),
            label=rng.integers(CLASSES, size=n),
            split=rng.choice(["train", "val", "test"], size=n),
            predicted=rng.integers(CLASSES, size=n),
        )
    )
    return df.to_dict("records")


def populate(
    home: Path, n_metric_rows: int = 1_000_000, n_projection_points: int = 100_000, n_jobs: int = 50, seed: int = 0
) -> dict:
    """Fill a store in `home` with SYNTHETIC runs totalling `n_metric_rows` metric rows; returns what was written."""
    from latentgap.store import Store

    store, rng, template = Store(home), np.random.default_rng(seed), metric_template()
    n_runs = -(-n_metric_rows // len(template))
    run_ids = []
    for r in range(n_runs):
        run_id = f"bench-synthetic-{r:05d}"
        n = min(len(template), n_metric_rows - r * len(template))
        tables = _run_tables(run_id, n, template, rng)
        if r == n_runs - 1:  # the newest run: the one the dashboard opens, with its latent explorer points
            tables["projections"] = _projection_rows(run_id, n_projection_points, rng)
        run = dict(
            run_id=run_id,
            autoencoder=f"bench-synthetic-ae-{r % 20}",
            family="sd-vae",
            ae_hash="0" * 16,
            dataset=f"bench-synthetic-{r % 4}",
            synthetic=True,
            profile="paper",
            seed=r % 5,
            device="cpu",
            spec={"synthetic": "latentgap bench store section"},
            versions={},
            timing={"total": 1.0},
            summary={"class_names": [f"class-{c}" for c in range(CLASSES)]},
        )
        store.write_run(run, tables)
        run_ids.append(run_id)
    for j in range(n_jobs):
        job_id = store.submit_job({"synthetic": True}, f"bench-synthetic job {j}")
        store.update_job(job_id, status="done", progress=1.0, step="done", run_id=run_ids[j % n_runs])
    return dict(
        runs=n_runs,
        metric_rows=n_metric_rows,
        metric_rows_per_run=len(template),
        projection_points=n_projection_points,
        jobs=n_jobs,
        newest_run=run_ids[-1],
    )


def run(
    workdir: Path,
    quick: bool,
    n_metric_rows: int = 1_000_000,
    n_projection_points: int = 100_000,
    reps: int | None = None,
) -> dict:
    from latentgap.store import Store
    from latentgap.tools.bench.measure import repeat, summarize

    home = Path(workdir) / "store-home"
    home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    written = populate(home, n_metric_rows, n_projection_points)
    out = dict(home=str(home), written=written, populate_s=time.perf_counter() - t0, queries={})
    store, run_id, reps = Store(home, cache=False), written["newest_run"], reps or (5 if quick else 20)  # DuckDB itself
    for name, query in QUERIES.items():
        times = repeat(lambda q=query: q(store, run_id), reps, warmup=1)
        result = query(store, run_id)
        out["queries"][name] = dict(
            seconds=summarize(times, "s"), rows=len(result), dashboard=name in DASHBOARD_QUERIES
        )
    slow = [n for n, q in out["queries"].items() if q["dashboard"] and q["seconds"]["median"] >= 0.1]
    out["dashboard_queries_over_100ms"] = slow
    return out
