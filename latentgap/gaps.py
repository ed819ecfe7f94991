"""The three gaps of a run, read against the null control (the `results --kind gap` contract).

- `paper_gap`: the paper's protocol, ResNet on reconstructions − ConvNeXt on latents (stored as `gap`);
- `matched_gap`: `reconstruction-s2d` − `latent`, one network on both sides (the headline);
- `excess_gap`: a run's matched gap − the null control's (`zoo:null-s2d`) matched gap on the same dataset, number of
  images and profile (the control's run with the same seeds and folds when there is one, else its latest); null for
  the control itself.
A lossless control (`null-s2d`, or `null-s2d-rot` / `null-s2d-flow` where they were run: their matched arms see
inputs that differ by an invertible map, so training noise shows there, while null-s2d's see the same pixels) whose
matched-gap interval excludes 0 flags every run on its dataset and profile: the protocol cannot separate the
autoencoder from the classifier there. A gap is the mean over the run's `n_replicates` (seed, fold) replicates; its
interval is the stored two-level bootstrap interval of that mean (replicates, then test patients within each:
`metrics.replicate_interval`). The excess gap's interval is the conservative difference of the two runs' intervals.
`learning_report` reads the paper and matched gap at each training fraction of a run's learning curve
(`results --kind learning`).
"""

from __future__ import annotations

import pandas as pd

CONTROL = "zoo:null-s2d"
NULL_CONTROLS = (CONTROL, "zoo:null-s2d-rot", "zoo:null-s2d-flow")  # lossless: each matched gap must hold 0
MAIN_ARMS = ("image", "reconstruction", "latent", "image-s2d", "reconstruction-s2d")
FLAG = "protocol cannot separate AE from classifier here (the null control's matched gap excludes 0)"
FLAG_NAMED = "protocol cannot separate AE from classifier here (null control {}: matched gap excludes 0)"
NO_CONTROL = "no null-control run on this dataset and profile: run --ae zoo:null-s2d to read this gap"


CONTROL_COLUMNS = ["run_id", "matched_gap", "matched_gap_ci_low", "matched_gap_ci_high"]
SAME_DATA = ("dataset", "n_images", "profile")  # what a control must share with a run to be read against it


def _controls(out: pd.DataFrame, control: str = CONTROL) -> pd.DataFrame:
    """Per row of `out`, the `control` AE's `CONTROL_COLUMNS` (NaN without one): its newest run on the same
    dataset, number of images and profile with the same seeds and folds, else the newest on that dataset, number of
    images and profile (a control on another subsample of the set is no control). Dictionary lookups, not a frame
    operation per run: the Overview reads every stored run on each request."""
    controls = out[out.autoencoder == control].sort_values("created_at", kind="stable")
    exact, loose = {}, {}
    for c in controls[[*SAME_DATA, "seeds", "folds", *CONTROL_COLUMNS]].itertuples(index=False):
        exact[c.dataset, c.n_images, c.profile, c.seeds, c.folds] = loose[c.dataset, c.n_images, c.profile] = c
    keys = zip(*(out[k].tolist() for k in (*SAME_DATA, "seeds", "folds")))  # lists: arrow strings iterate slowly
    chosen = [exact.get(k) or loose.get(k[:3]) for k in keys]  # oldest first above: the newest run wins
    values = [[getattr(c, k) for k in CONTROL_COLUMNS] if c else [None] * 4 for c in chosen]
    return pd.DataFrame(values, columns=CONTROL_COLUMNS, index=out.index, dtype=object)


def gap_report(gap: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """gap: `Store.gap_table()` (one row per run); training: `Store.convergence()` (or `Store.training()`). One row
    per run, in the order of `gap`."""
    out = gap.rename(columns={"gap": "paper_gap", "gap_ci_low": "paper_gap_ci_low", "gap_ci_high": "paper_gap_ci_high"})
    main = training[training.arm.isin(MAIN_ARMS)] if not training.empty else training
    converged = main.groupby("run_id")["converged"].all() if not main.empty else pd.Series(dtype=bool)
    ctl = _controls(out)
    found, is_control = ctl.run_id.notna().to_numpy(), (out.autoencoder == CONTROL).to_numpy()
    low, high = ctl.matched_gap_ci_low.astype(float), ctl.matched_gap_ci_high.astype(float)
    excess = found & ~is_control & out.matched_gap.notna().to_numpy() & ctl.matched_gap.notna().to_numpy()
    failed = [_excludes_zero(_controls(out, c) if c != CONTROL else ctl) for c in NULL_CONTROLS]
    flags = [
        _flag(failed_here) if f and failed_here else None if f or c else NO_CONTROL
        for f, c, *failed_here in zip(found, is_control, *failed)
    ]
    extra = {  # one concat, not a column insert each: inserts into a frame of ~30 columns cost ~1 ms apiece
        "converged": out.run_id.map(converged).astype(object).where(out.run_id.isin(converged.index), None),
        "control_run_id": ctl.run_id,
        "excess_gap": (out.matched_gap - ctl.matched_gap.astype(float)).where(excess),
        "excess_gap_ci_low": (out.matched_gap_ci_low - high).where(excess),
        "excess_gap_ci_high": (out.matched_gap_ci_high - low).where(excess),
        "flag": pd.Series(flags, index=out.index, dtype=object),  # None, not NaN: `results --json` prints null
    }
    return pd.concat([out, pd.DataFrame(extra, index=out.index)], axis=1)


def _excludes_zero(ctl: pd.DataFrame) -> list[bool]:
    """Per row: whether the control's matched-gap interval was measured and leaves 0 out."""
    low, high = ctl.matched_gap_ci_low.astype(float), ctl.matched_gap_ci_high.astype(float)
    return (low.notna() & ~((low <= 0) & (high >= 0))).tolist()


def _flag(failed: list[bool]) -> str | None:
    """The flag for the lossless controls that left 0 out (one bool per `NULL_CONTROLS`), None when none did."""
    names = [c.removeprefix("zoo:") for c, x in zip(NULL_CONTROLS, failed) if x]
    if not names:
        return None
    return FLAG if names == ["null-s2d"] else FLAG_NAMED.format(", ".join(names))


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
