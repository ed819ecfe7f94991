"""The rows a diagnosis stores, as dataclasses: one per result table, and the DuckDB schema generated from them.

A metric row names the `arm` that produced it (a classifier or probe of `arms.ARMS`, null for values that no single
arm produced) and the `quantity` it is: an arm's `score`, the AE's reconstruction `fidelity` (PSNR / SSIM), or a
difference of two arms (`gap`, `fidelity_loss`, `matched_gap`, `matched_fidelity_loss`). A run's replicates are its
(seed, fold) pairs; each difference also has one run-level row (fold and seed null): the mean over the replicates with
its two-level bootstrap interval (`metrics.replicate_interval`). Learning curves (arms trained on fractions of the
training split) have their own table, `learning_curve`, so that no query of `metrics` sees them.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

SCORE, FIDELITY = "score", "fidelity"
DIFFERENCES = {  # quantity -> (arm a, arm b): value = score(a) - score(b); the matched ones use one network on both
    "gap": ("reconstruction", "latent"),
    "fidelity_loss": ("image", "reconstruction"),
    "matched_gap": ("reconstruction-s2d", "latent"),
    "matched_fidelity_loss": ("image-s2d", "reconstruction-s2d"),
}


@dataclass(frozen=True)
class MetricRow:
    run_id: str
    arm: str | None
    quantity: str
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    fold: int | None = None  # null (with seed) on a difference's run-level row: the mean over the run's replicates
    noise_level: float | None = None
    seed: int | None = None  # the replicate's seed (null for fidelity, which no training touches)


@dataclass(frozen=True)
class ClassMetricRow:
    run_id: str
    arm: str
    fold: int
    seed: int
    class_index: int
    class_name: str
    support: int
    accuracy: float


@dataclass(frozen=True)
class ConfusionRow:
    run_id: str
    arm: str
    fold: int
    seed: int
    true_class: int
    pred_class: int
    count: int


@dataclass(frozen=True)
class StructureRow:
    run_id: str
    statistic: str
    channel: int | None
    value: float


@dataclass(frozen=True)
class TrainingRow:
    run_id: str
    arm: str
    fold: int
    seed: int
    epochs_run: int
    best_epoch: int
    converged: bool
    history: str  # JSON: per-epoch train loss and validation score


@dataclass(frozen=True)
class ProjectionRow:
    """`space` is the feature space projected (`latent`, `image`), not an arm."""

    run_id: str
    fold: int
    space: str
    sample_index: int
    x: float
    y: float
    label: int
    split: str
    predicted: int | None


@dataclass(frozen=True)
class PredictionRow:
    """One test sample's prediction by one arm (the explorer's colour-by and selection table)."""

    run_id: str
    fold: int
    arm: str
    sample_index: int
    predicted: int
    confidence: float


@dataclass(frozen=True)
class LearningCurveRow:
    """One point of a learning curve: an arm's test score (`quantity` score) or a difference of two arms (`gap`,
    `matched_gap`, ...; arm null) after training on `train_fraction` of the replicate's training split (nested whole
    groups: `datasets.splits.nested_subsets`; 1.0 repeats the replicate's own score). Validation and test splits are
    the replicate's. A row with fold and seed null is the run-level mean over the replicates with its two-level
    bootstrap interval (`metrics.replicate_interval`) and the mean of their `n_train`, rounded."""

    run_id: str
    arm: str | None
    quantity: str
    fold: int | None
    seed: int | None
    train_fraction: float
    n_train: int  # training images the classifier saw
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class SampleFidelityRow:
    run_id: str
    sample_index: int
    psnr: float
    ssim: float


TABLES: dict[str, type] = {
    "metrics": MetricRow,
    "class_metrics": ClassMetricRow,
    "confusion": ConfusionRow,
    "structure": StructureRow,
    "training": TrainingRow,
    "projections": ProjectionRow,
    "predictions": PredictionRow,
    "sample_fidelity": SampleFidelityRow,
    "learning_curve": LearningCurveRow,
}
_SQL_TYPES = {str: "VARCHAR", float: "DOUBLE", int: "INTEGER", bool: "BOOLEAN"}
_JSON_COLUMNS = {"history"}


def columns(table: str) -> list[str]:
    return [f.name for f in dataclasses.fields(TABLES[table])]


def _sql_type(name: str, hint) -> str:
    if name in _JSON_COLUMNS:
        return "JSON"
    base = [t for t in typing.get_args(hint) if t is not type(None)] or [hint]
    return _SQL_TYPES[base[0]]


def create_sql(table: str) -> str:
    """`CREATE TABLE IF NOT EXISTS` for a result table, its columns and types read from the row dataclass."""
    hints = typing.get_type_hints(TABLES[table])
    cols = ", ".join(f"{name} {_sql_type(name, hints[name])}" for name in columns(table))
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols});"


def arm_quantity(name: str) -> dict:
    """A metric's arm and quantity from one name: an arm's name (its score) or a difference's (no arm)."""
    return dict(arm=None, quantity=name) if name in DIFFERENCES else dict(arm=name, quantity=SCORE)
