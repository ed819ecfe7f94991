"""The three gaps of a run, read against the null control (the `results --kind gap` contract).

- `paper_gap`: the paper's protocol, ResNet on reconstructions − ConvNeXt on latents (stored as `gap`);
- `matched_gap`: `reconstruction-s2d` − `latent`, one network on both sides (the headline);
- `excess_gap`: a run's matched gap − the null control's (`zoo:null-s2d`) matched gap on the same dataset and profile
  (the control's run with the same seeds and folds when there is one, else its latest); null for the control itself.
A control whose matched-gap interval excludes 0 flags every run it is read against: the protocol cannot separate the
autoencoder from the classifier there. A gap is the mean over the run's `n_replicates` (seed, fold) replicates; its
interval is the stored two-level bootstrap interval of that mean (replicates, then test patients within each:
`metrics.replicate_interval`). The excess gap's interval is the conservative difference of the two runs' intervals.
`learning_report` reads the paper and matched gap at each training fraction of a run's learning curve
(`results --kind learning`).
"""

from __future__ import annotations

import pandas as pd

CONTROL = "zoo:null-s2d"
MAIN_ARMS = ("image", "reconstruction", "latent", "image-s2d", "reconstruction-s2d")
FLAG = "protocol cannot separate AE from classifier here (the null control's matched gap excludes 0)"
NO_CONTROL = "no null-control run on this dataset and profile: run --ae zoo:null-s2d to read this gap"


def _control_for(row, controls: pd.DataFrame):
    same = controls[(controls.dataset == row.dataset) & (controls.profile == row.profile)]
    if same.empty:
        return None
    replicated = same[(same.seeds == row.seeds) & (same.folds == row.folds)]  # the same replicates
    return (replicated if not replicated.empty else same).sort_values("created_at").iloc[-1]


def gap_report(gap: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """gap: `Store.gap_table()` (one row per run); training: `Store.training()`. One row per run, newest first."""
    out = gap.rename(columns={"gap": "paper_gap", "gap_ci_low": "paper_gap_ci_low", "gap_ci_high": "paper_gap_ci_high"})
    main = training[training.arm.isin(MAIN_ARMS)] if not training.empty else training
    converged = main.groupby("run_id")["converged"].all() if not main.empty else pd.Series(dtype=bool)
    out["converged"] = out.run_id.map(converged).astype(object).where(out.run_id.isin(converged.index), None)
    controls = out[out.autoencoder == CONTROL]
    rows = []
    for row in out.itertuples(index=False):
        extra = dict(control_run_id=None, excess_gap=None, excess_gap_ci_low=None, excess_gap_ci_high=None, flag=None)
        control = _control_for(row, controls)
        if control is None:
            extra["flag"] = NO_CONTROL if row.autoencoder != CONTROL else None
        else:
            extra["control_run_id"] = control.run_id
            if (
                pd.notna(control.matched_gap_ci_low)
                and not control.matched_gap_ci_low <= 0 <= control.matched_gap_ci_high
            ):
                extra["flag"] = FLAG
            if row.autoencoder != CONTROL and pd.notna(row.matched_gap) and pd.notna(control.matched_gap):
                extra.update(
                    excess_gap=row.matched_gap - control.matched_gap,
                    excess_gap_ci_low=row.matched_gap_ci_low - control.matched_gap_ci_high,
                    excess_gap_ci_high=row.matched_gap_ci_high - control.matched_gap_ci_low,
                )
        rows.append({**row._asdict(), **extra})
    return pd.DataFrame(
        rows, columns=[*out.columns, "control_run_id", "excess_gap", "excess_gap_ci_low", "excess_gap_ci_high", "flag"]
    )


LEARNING_GAPS = {"gap": "paper_gap", "matched_gap": "matched_gap"}  # stored quantity -> its name in the report


def learning_report(curve: pd.DataFrame) -> pd.DataFrame:
    """The `results --kind learning` rows from `Store.learning_curve()`: one per run, arm and training fraction with
    the mean over the run's replicates (`value`) and its two-level interval, `n_replicates`, the mean `n_train`, and
    the paper and matched gap at that fraction with their intervals. A gap that shrinks as `n_train` grows is the
    latent classifier needing more examples (sample efficiency), not information the autoencoder lost."""
    key = ["run_id", "train_fraction"]
    run_level, replicates = curve[curve.fold.isna()], curve[curve.fold.notna()]
    counts = replicates.groupby([*key, "quantity", "arm"], dropna=False).size().rename("n_replicates").reset_index()
    arms = run_level[run_level.quantity == "score"].merge(counts, on=[*key, "quantity", "arm"], how="left")
    out = arms[
        ["run_id", "autoencoder", "dataset", "synthetic", "profile", "arm", "train_fraction", "n_train", "n_replicates"]
        + ["metric", "value", "ci_low", "ci_high", "created_at"]
    ]
    for quantity, name in LEARNING_GAPS.items():
        gap = run_level[run_level.quantity == quantity][[*key, "value", "ci_low", "ci_high"]]
        gap = gap.rename(columns={"value": name, "ci_low": f"{name}_ci_low", "ci_high": f"{name}_ci_high"})
        out = out.merge(gap, on=key, how="left")
    return out.sort_values(["created_at", "run_id", "arm", "train_fraction"]).reset_index(drop=True)
