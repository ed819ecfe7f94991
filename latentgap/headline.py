"""The calibrated headline that leads the Overview and the report.

Per run: the matched gap (which gap, in plain words) with its interval and replicate count; the null control's
matched gap beside it and the excess gap, or, without a control, the command that runs one; the arms behind the gaps
that did not converge; the control's flag; and whether the data is REAL or SYNTHETIC (the run's stored `synthetic`
flag, as the run pickers and the report read it). Built from `gaps.gap_report` rows (what `results --kind gap`
prints) and `Store.convergence()`: nothing is recomputed. One list of lines, written as Markdown (`gr.Markdown`) or
HTML (the report).
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from latentgap.datasets.splits import OFFICIAL
from latentgap.gaps import CONTROL, MAIN_ARMS, NO_CONTROL

MAX_GROUPS = 4  # headlines on the Overview: more read as a second table (the table below lists every run)
MATCHED = "reconstruction-s2d − latent, same network"
EXCESS = "the matched gap minus the null control's: what the autoencoder adds beyond rearranging pixels"
PAPER = "ResNet on reconstructions − ConvNeXt on latents, the paper's protocol"
CONTROL_NOTE = (
    "this run is the null control (a lossless rearrangement of the pixels): its matched gap should be ≈ 0 with 0 in "
    "its interval; other autoencoders' excess gaps are read against it"
)


@dataclass(frozen=True)
class Markup:
    """How a headline marks its words: `MARKDOWN` for the dashboard, `HTML` for the report."""

    strong: Callable[[str], str]
    code: Callable[[str], str]
    text: Callable[[str], str]  # words from the store (names, flag text), escaped
    html: bool = False

    def block(self, title: str, lines: list[str]) -> str:
        if self.html:
            return f'<div class="headline"><h3>{title}</h3><p>{"<br>".join(lines)}</p></div>'
        return f"#### {title}\n" + "  \n".join(lines)


MARKDOWN = Markup(
    strong=lambda s: f"**{s}**",
    code=lambda s: f"`{s}`",
    text=lambda s: re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", s),
)
HTML = Markup(
    strong=lambda s: f"<b>{s}</b>", code=lambda s: f"<code>{html.escape(s)}</code>", text=html.escape, html=True
)


# --- pieces -------------------------------------------------------------------------------------------------------
def _missing(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))


def interval(value, low, high) -> str:
    """`+0.110 [+0.050, +0.170]`; the bare value without an interval, `n/a` without a value."""
    if _missing(value):
        return "n/a"
    return f"{value:+.3f}" + ("" if _missing(low) else f" [{low:+.3f}, {high:+.3f}]")


def data_badge(synthetic) -> str:
    return "SYNTHETIC" if synthetic else "REAL"


def _folds(folds) -> str:
    if _missing(folds) or folds == "":
        return "n/a"
    return ",".join("official" if f == str(OFFICIAL) else f for f in str(folds).split(","))


def _seeds(row) -> str:
    """The replicates' seeds (`0,1,2`); the run's seed where the gap table lists none (runs before replicates)."""
    return str(row.seeds) if not _missing(row.seeds) and row.seeds != "" else str(row.seed)


def control_command(row) -> str:
    """The diagnosis that gives `row`'s run its null control: same dataset, profile, seeds and folds."""
    cmd = ["python", "-m", "latentgap", "diagnose", "--ae", CONTROL, "--dataset", row.dataset, "--profile", row.profile]
    cmd += ["--seeds", _seeds(row)]
    if _folds(row.folds) != "n/a":
        cmd += ["--folds", _folds(row.folds)]
    return shlex.join(cmd)


def unconverged_arms(convergence: pd.DataFrame) -> dict[str, str]:
    """run_id -> `latent (1 of 3 replicates), image-s2d (3 of 3)`: the arms behind the gaps (`gaps.MAIN_ARMS`) that
    did not converge, per run. convergence: `Store.convergence()` (one row per run x arm x replicate)."""
    main = convergence[convergence.arm.isin(MAIN_ARMS)] if not convergence.empty else convergence
    if main.empty:
        return {}
    counts = main.assign(bad=main.converged.eq(False)).groupby(["run_id", "arm"], sort=True).bad.agg(["sum", "size"])
    counts = counts[counts["sum"] > 0]
    out: dict[str, list[str]] = {}
    for (run_id, arm), c in counts.iterrows():
        out.setdefault(run_id, []).append(f"{arm} ({c['sum']} of {c['size']} replicates)")
    return {run_id: ", ".join(arms) for run_id, arms in out.items()}


# --- one run ------------------------------------------------------------------------------------------------------
def run_headline(row, control, bad_arms: str | None, metric: str, m: Markup) -> str:
    """One run's headline. row: a `gaps.gap_report` row; control: the row of its null-control run (None without
    one); bad_arms: `unconverged_arms()[run_id]`."""
    title = (
        f"{m.code(row.autoencoder)} on {m.code(row.dataset)} · {m.strong(data_badge(row.synthetic) + ' data')} · "
        f"{m.text(row.profile)} profile · run {m.code(row.run_id)}"
    )
    n = "n/a" if _missing(row.n_replicates) else int(row.n_replicates)
    replicates = f"{n} replicate{'' if n == 1 else 's'} (seeds {_seeds(row)}; folds {_folds(row.folds)})"
    matched = (
        "not measured in this run (it has no reconstruction-s2d arm; a rerun measures it): only the paper gap below"
        if _missing(row.matched_gap)
        else f"{m.strong(interval(row.matched_gap, row.matched_gap_ci_low, row.matched_gap_ci_high))} "
        f"{metric.replace('_', ' ')}"
    )
    lines = [f"{m.strong('Matched gap')} ({MATCHED}): {matched}, {replicates}"]
    if row.autoencoder == CONTROL:
        lines.append(f"{m.strong('Null control')}: {CONTROL_NOTE}")
    elif control is None:
        lines.append(
            f"{m.strong('Null control')}: none on {m.code(row.dataset)} in the {m.text(row.profile)} profile, so no "
            f"excess gap yet. Run it: {m.code(control_command(row))}"
        )
    else:
        control_gap = interval(control.matched_gap, control.matched_gap_ci_low, control.matched_gap_ci_high)
        excess = interval(row.excess_gap, row.excess_gap_ci_low, row.excess_gap_ci_high)
        lines.append(
            f"{m.strong('Null control')} {m.code(CONTROL)} (run {m.code(control.run_id)}): matched gap {control_gap} "
            f"→ {m.strong(f'excess gap {excess}')} ({EXCESS})"
        )
    lines.append(f"Paper gap ({PAPER}): {interval(row.paper_gap, row.paper_gap_ci_low, row.paper_gap_ci_high)}")
    if bad_arms:
        lines.append(f"⚠ {m.strong('Not converged')}: {m.text(bad_arms)}; a longer budget may move these gaps")
    elif _missing(row.converged):
        lines.append("Convergence: not recorded for this run (no training histories stored)")
    if not _missing(row.flag) and row.flag != NO_CONTROL:  # NO_CONTROL is said above, with its command
        lines.append(f"⚠ {m.strong(m.text(row.flag))}")
    return m.block(title, lines)


def headlines(rows: pd.DataFrame, every: pd.DataFrame, convergence: pd.DataFrame, metric: str, m: Markup) -> list[str]:
    """Each row's headline. rows: `gaps.gap_report` rows to headline; every: the report of every stored run (where
    their null controls are found), convergence: `Store.convergence()`."""
    controls = every[every.run_id.isin(rows.control_run_id)].set_index("run_id")
    bad = unconverged_arms(convergence[convergence.run_id.isin(rows.run_id)] if not convergence.empty else convergence)
    control_of = lambda r: None if _missing(r.control_run_id) else _row(controls, r.control_run_id)
    return [run_headline(r, control_of(r), bad.get(r.run_id), metric, m) for r in rows.itertuples(index=False)]


def _row(indexed: pd.DataFrame, run_id: str):
    return next(indexed.loc[[run_id]].reset_index().itertuples(index=False))


# --- the Overview's ---------------------------------------------------------------------------------------------
def overview_headline(shown: pd.DataFrame, every: pd.DataFrame, convergence: pd.DataFrame, metric: str) -> str:
    """Markdown: one headline per (autoencoder, dataset, profile) among the shown runs — its newest run — the
    autoencoders' before the null controls', at most `MAX_GROUPS`. shown: the filtered `gap_report` rows, newest
    first (as `Store.gap_table` orders them)."""
    if shown.empty:
        return "**Headline**: no runs to show: run a diagnosis, or widen the filters"
    first: dict[tuple, int] = {}  # group -> its newest run's position; plain lists: a frame op costs ~1 ms each
    for i, key in enumerate(zip(*(shown[k].tolist() for k in ("autoencoder", "dataset", "profile")))):
        first.setdefault(key, i)
    order = [i for key, i in sorted(first.items(), key=lambda kv: kv[0][0] == CONTROL)]  # stable: controls last
    blocks = headlines(shown.iloc[order[:MAX_GROUPS]], every, convergence, metric, MARKDOWN)
    more = len(order) - MAX_GROUPS
    tail = [f"*{more} more autoencoder x dataset x profile groups: in the table below.*"] if more > 0 else []
    intro = (
        "**Headline** — newest run per autoencoder x dataset x profile shown. A positive gap: the latent is harder "
        "to classify than its reconstruction. Intervals: 95 % bootstrap over replicates and test patients."
    )
    return "\n\n".join([intro, *blocks, *tail])
