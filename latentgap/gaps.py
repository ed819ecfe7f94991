"""The three gaps of a run, read against the null control (the `results --kind gap` contract).

- `paper_gap`: the paper's protocol, ResNet on reconstructions − ConvNeXt on latents (stored as `gap`);
- `matched_gap`: `reconstruction-s2d` − `latent`, one network on both sides (the headline);
- `excess_gap`: a run's matched gap − the null control's (`zoo:null-s2d`) matched gap on the same dataset and profile
  (the control's run with the same seeds and folds when there is one, else its latest); null for the control itself.
A control whose matched-gap interval excludes 0 flags every run it is read against: the protocol cannot separate the
autoencoder from the classifier there. A gap is the mean over the run's `n_replicates` (seed, fold) replicates; its
interval is the stored two-level bootstrap interval of that mean (replicates, then test patients within each:
`metrics.replicate_interval`). The excess gap's interval is the conservative difference of the two runs' intervals.
"""

from __future__ import annotations

import pandas as pd

CONTROL = "zoo:null-s2d"
MAIN_ARMS = ("image", "reconstruction", "latent", "image-s2d", "reconstruction-s2d")
FLAG = "protocol cannot separate AE from classifier here (the null control's matched gap excludes 0)"
NO_CONTROL = "no null-control run on this dataset and profile: run --ae zoo:null-s2d to read this gap"


def _control_for(row, controls: dict):
    """controls: the control runs grouped by (dataset, profile): one lookup per run, not a scan (the Overview asks
    this of every stored run on each request)."""
    same = controls.get((row.dataset, row.profile))
    if same is None:
        return None
    replicated = same[(same.seeds == row.seeds) & (same.folds == row.folds)]  # the same replicates
    return (replicated if not replicated.empty else same).sort_values("created_at").iloc[-1]


def gap_report(gap: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """gap: `Store.gap_table()` (one row per run); training: `Store.convergence()` (or `Store.training()`). One row
    per run, in the order of `gap`."""
    out = gap.rename(columns={"gap": "paper_gap", "gap_ci_low": "paper_gap_ci_low", "gap_ci_high": "paper_gap_ci_high"})
    main = training[training.arm.isin(MAIN_ARMS)] if not training.empty else training
    converged = main.groupby("run_id")["converged"].all() if not main.empty else pd.Series(dtype=bool)
    out["converged"] = out.run_id.map(converged).astype(object).where(out.run_id.isin(converged.index), None)
    controls = dict(tuple(out[out.autoencoder == CONTROL].groupby(["dataset", "profile"])))
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
