"""A shareable report: one self-contained HTML file for a run, or for a comparison of runs.

It leads with the calibrated headline the Overview shows (`latentgap.headline`), then holds what the dashboard shows
of a run — the gap table (paper / matched / excess gap with intervals, replicates, convergence and the null control's
flag, from `gaps.gap_report` as `results --kind gap` reads it), PSNR / SSIM, the noise and training curves, the UMAPs
and the reconstruction grid, all drawn by `latentgap.plots` — with each run's spec, profile, deviations from the
paper, versions, and whether its data is real or SYNTHETIC. plotly.js is inlined once and every image is a PNG data
URI, so the file opens offline, from disk or as a mail attachment.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.errors import LatentgapError
from latentgap.headline import HTML, headlines
from latentgap.workspace import Workspace

METRIC = "balanced_accuracy"
PER_CLASS = 2  # reconstruction grid rows per class
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.8rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.synthetic { background: #fff3cd; border: 1px solid #e0b400; padding: 0.5rem 0.8rem; font-weight: 600; }
.real { background: #e7f4e4; border: 1px solid #55a868; padding: 0.5rem 0.8rem; }
.note { color: #555; font-size: 0.85rem; }
.headline { border-left: 4px solid #4c72b0; background: #f5f8fc; padding: 0.4rem 1rem; margin: 1rem 0; }
.headline h3 { margin: 0.3rem 0; font-size: 1.05rem; }
pre { background: #f7f7f7; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
"""


# --- where and whether ------------------------------------------------------------------------------------------
def default_path(home: Path, run_ids: list[str]) -> Path:
    """`<home>/reports/<run_id>.html`; several runs: `compare-<last 6 characters of each id>.html` (up to four)."""
    if len(run_ids) == 1:
        return Workspace(Path(home)).report(run_ids[0])
    name = "compare-" + "-".join(r[-6:] for r in run_ids[:4])
    return Workspace(Path(home)).report(name + (f"-and-{len(run_ids) - 4}-more" if len(run_ids) > 4 else ""))


def _check_runs(runs: pd.DataFrame, run_ids: list[str], home: Path) -> None:
    if not run_ids:
        raise LatentgapError("give at least one run id; `python -m latentgap results --kind gap` lists them")
    unknown = [r for r in run_ids if r not in set(runs.run_id)]
    if unknown:
        raise LatentgapError(
            f"no run {unknown[0]!r} in the store under {home}; list run ids with "
            f"`python -m latentgap results --kind gap --home {home}` (or pass the --home that holds it)"
        )


# --- pieces -------------------------------------------------------------------------------------------------------
def png_data_uri(rgb: np.ndarray) -> str:
    """(h, w, 3) uint8 -> `data:image/png;base64,...`."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def inline_images(fig):
    """Give each image trace its pixels as a PNG data URI (`source`) instead of a number array: a smaller file whose
    images every viewer draws as they are."""
    for trace in fig.data:
        if trace.type == "image" and trace.z is not None:
            trace.source = png_data_uri(np.asarray(trace.z))
            trace.z = None
    return fig


def _figure(fig) -> str:
    """A plotly figure as a div; plotly.js itself is inlined once, in the page head."""
    div = fig.to_html(full_html=False, include_plotlyjs=False, default_height="460px", config={"displaylogo": False})
    return f'<div class="figure">{div}</div>'


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, na_rep="n/a", border=0)


def _value(v, signed: bool = False) -> str:
    if v is None or pd.isna(v):
        return "n/a"
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _details(summary: str, value) -> str:
    """A folded block of JSON (spec, dataset card, timing)."""
    return f"<details><summary>{summary}</summary><pre>{html.escape(json.dumps(value, indent=1))}</pre></details>"


def _with_interval(row, key: str) -> str:
    low, high = getattr(row, f"{key}_ci_low"), getattr(row, f"{key}_ci_high")
    interval = "" if low is None or pd.isna(low) else f" [{low:+.3f}, {high:+.3f}]"
    return _value(getattr(row, key), signed=True) + interval


def _data_kind(dataset: str, synthetic: bool) -> str:
    return f"{dataset} (SYNTHETIC)" if synthetic else f"{dataset} (real)"


# --- sections -----------------------------------------------------------------------------------------------------
def gap_rows(store, run_ids: list[str] | None = None) -> pd.DataFrame:
    """The runs' rows of `gaps.gap_report` (read against every stored run, so a null control in the store counts)
    with PSNR / SSIM, in the order given; every stored run's, newest first, without `run_ids`."""
    report = store.gap_report(METRIC).set_index("run_id")
    fidelity = store.fidelity().pivot_table(index="run_id", columns="metric", values="value")
    report = report.join(fidelity, how="left") if not fidelity.empty else report
    order = report.index if run_ids is None else [r for r in run_ids if r in report.index]
    return report.reindex(order).reset_index()


def _gap_table(gap: pd.DataFrame) -> str:
    rows = [
        {
            "run": r.run_id,
            "autoencoder": r.autoencoder,
            "data": _data_kind(r.dataset, r.synthetic),
            "profile": r.profile,
            "seeds": getattr(r, "seeds", None) or r.seed,  # the replicates' seeds where the gap table lists them
            "image": _value(r.image),
            "reconstruction": _value(r.reconstruction),
            "latent": _value(r.latent),
            "paper gap [95 % CI]": _with_interval(r, "paper_gap"),
            "matched gap [95 % CI]": _with_interval(r, "matched_gap"),
            "excess gap [95 % CI]": _with_interval(r, "excess_gap"),
            "fidelity loss": _value(r.fidelity_loss, signed=True),
            "replicates": r.n_replicates,
            "converged": {True: "yes", False: "no"}.get(r.converged, "n/a"),
            "PSNR (dB)": f"{r.psnr:.2f}" if pd.notna(getattr(r, "psnr", None)) else "n/a",
            "SSIM": _value(getattr(r, "ssim", None)),
        }
        for r in gap.itertuples()
    ]
    return _table(pd.DataFrame(rows))


def _control_notes(gap: pd.DataFrame) -> str:
    """Per run: the null-control run its excess gap is read against, and the control's flag."""
    items = []
    for r in gap.itertuples():
        against = f"read against null-control run {r.control_run_id}" if r.control_run_id else "no null control"
        flag = f": <b>{html.escape(r.flag)}</b>" if r.flag else ""
        items.append(f"<li>{html.escape(r.run_id)} — {html.escape(against)}{flag}</li>")
    return f'<ul class="note">{"".join(items)}</ul>'


GAP_NOTE = (
    "Test-split balanced accuracy of the same classifier recipe on images, reconstructions and latents (mean over "
    "replicates). <b>Paper gap</b>: ResNet on reconstructions − ConvNeXt on latents (the paper's protocol). "
    "<b>Matched gap</b>: one network on both (pixel-unshuffled reconstructions vs latents). <b>Excess gap</b>: the "
    "matched gap minus the null control's (<code>zoo:null-s2d</code>) on the same dataset and profile. Intervals: "
    "the 95 % bootstrap interval stored with each run (over its test images, and over its seed x fold replicates "
    "where it has several). <b>Fidelity loss</b>: image − reconstruction."
)


def _run_facts(run, spec: dict, gap_row) -> pd.DataFrame:
    s = spec["summary"]
    classes = ", ".join(f"{n} {c}" for n, c in zip(s.get("class_names", []), s.get("class_counts", [])))
    fidelity = (
        f"PSNR {gap_row.psnr:.2f} dB, SSIM {gap_row.ssim:.3f}"
        if gap_row is not None and pd.notna(getattr(gap_row, "psnr", None))
        else "not available (no reconstruction)"
    )
    facts = {
        "run id": run.run_id,
        "created": str(run.created_at),
        "autoencoder": f"{run.autoencoder} (family {run.family}, {s.get('ae_parameters', 'n/a')} parameters)",
        "data": _data_kind(run.dataset, run.synthetic),
        "images / classes": f"{s.get('n_images', 'n/a')} images; {classes}",
        "profile / device": f"{run.profile} / {run.device}",
        "seeds / folds": " / ".join(", ".join(map(str, v)) for v in (s.get("seeds", [run.seed]), s.get("folds", []))),
        "autoencoder input": s.get("ae_input", "n/a"),
        "latent": f"shape {s.get('latent_shape', 'n/a')}; {s.get('latent_normalisation', '')}",
        "classifier initialisation": _text(s.get("classifier_init", "n/a")),
        "reconstruction": f"{s.get('reconstruction', 'available')}; {fidelity}",
        "arms": ", ".join(s.get("arms", [])),
    }
    return pd.DataFrame({"": list(facts), "value": list(facts.values())})


def _run_section(store, run, gap_row) -> str:
    from latentgap.plots import noise_curves, training_curves, umap_grid

    spec = store.run_spec(run.run_id)
    banner = (
        f'<p class="synthetic">SYNTHETIC data: {html.escape(run.dataset)} is an embedded benchmark generated by '
        "seeded code. Its numbers check the method; they do not measure the autoencoder on real images.</p>"
        if run.synthetic
        else f'<p class="real">Real data: {html.escape(run.dataset)}.</p>'
    )
    results = store.results(run.run_id)
    proj, names = store.projections(run.run_id), store.class_names(run.run_id)
    panels = {
        "latents (normalised)": proj[proj.space == "latent"],
        "image-space features (pooled pixels)": proj[proj.space == "image"],
    }
    deviations = spec["summary"].get("deviations") or spec["spec"].get("profile_settings", {}).get("deviations", "")
    versions = pd.DataFrame({"package": list(spec["versions"]), "version": list(spec["versions"].values())})
    return "\n".join(
        [
            f"<h2>{html.escape(run.autoencoder)} on {html.escape(run.dataset)} — run {html.escape(run.run_id)}</h2>",
            banner,
            _run_facts(run, spec, gap_row).to_html(index=False, header=False, border=0),
            f"<p><b>Deviations from the paper ({html.escape(run.profile)} profile):</b> {html.escape(deviations)}</p>",
            _figure(noise_curves(store.noise_curves(run.run_id), results[results.noise_level.isna()], METRIC)),
            _figure(training_curves(store.training(run.run_id))),
            *_learning_figure(store, run.run_id, names),
            _figure(umap_grid(panels, "class", names)),
            _details("spec (as stored with the run, profile settings included)", spec["spec"]),
            _details("dataset card", spec["summary"].get("dataset_card", {})),
            f"<details><summary>versions</summary>{_table(versions)}</details>",
            _details("timing (s)", spec["timing"]),
        ]
    )


def _learning_figure(store, run_id: str, class_names: list[str]) -> list[str]:
    """The learning-curve figure of a run trained at several training fractions; nothing for a run without one."""
    from latentgap.plots import learning_curves

    curve = store.learning_curve(run_id)
    chance = 1 / len(class_names) if class_names else None
    return [_figure(learning_curves(curve, chance))] if len(curve) else []


def _reconstruction_grids(home: Path, store, runs: pd.DataFrame) -> list[str]:
    """One grid per (dataset, seed): runs that share them show the same samples side by side."""
    from latentgap.gallery import load_gallery
    from latentgap.plots import reconstruction_grid

    out = []
    for _, group in runs.groupby(["dataset", "seed"], sort=False):
        galleries = {f"{r.autoencoder} ({r.run_id[-6:]})": load_gallery(home, r.run_id) for r in group.itertuples()}
        fig = reconstruction_grid(galleries, store.class_names(group.run_id.iloc[0]), PER_CLASS)
        columns = 1 + 2 * sum(g is not None for g in galleries.values())  # original + (reconstruction, diff) each
        out.append(_figure(inline_images(fig).update_layout(width=max(600, 170 * columns))))  # near-square tiles
    return out


# --- the page -----------------------------------------------------------------------------------------------------
def build_report(home: Path, run_ids: list[str]) -> str:
    """The report's HTML for these stored runs (several: a comparison); raises LatentgapError for an unknown id."""
    from plotly.offline import get_plotlyjs

    from latentgap import __version__
    from latentgap.plots import compare_noise_curves, gap_bars
    from latentgap.store import Store

    home, run_ids = Path(home), list(dict.fromkeys(run_ids))
    store = Store(home)
    all_runs = store.runs()
    _check_runs(all_runs, run_ids, home)
    runs = all_runs.set_index("run_id").loc[run_ids].reset_index()
    every = gap_rows(store)
    gap = every.set_index("run_id").reindex([r for r in run_ids if r in set(every.run_id)]).reset_index()
    by_run = {r.run_id: r for r in gap.itertuples()}
    what = f"run {run_ids[0]}" if len(run_ids) == 1 else f"{len(run_ids)} runs compared"
    synthetic = "; ".join(_data_kind(d, s) for d, s in dict(zip(runs.dataset, runs.synthetic)).items())
    parts = [
        f"<h1>latentgap report — {html.escape(what)}</h1>",
        f'<p class="note">Written {time.strftime("%Y-%m-%d %H:%M")} by latentgap {__version__} from its store. '
        f"Data: {html.escape(synthetic)}.</p>",
        *headlines(gap, every, store.convergence(), METRIC, HTML),  # the calibrated gap leads, as on the Overview
        "<h2>Gaps</h2>",
        _gap_table(gap) + _control_notes(gap) if not gap.empty else "<p>no gap results stored for these runs</p>",
        f'<p class="note">{GAP_NOTE}</p>',
        _figure(gap_bars(store.gap_table(METRIC).set_index("run_id").reindex(gap.run_id).reset_index(), METRIC)),
    ]
    if len(run_ids) > 1:
        parts.append(_figure(compare_noise_curves(pd.concat([store.noise_curves(r) for r in run_ids]), METRIC)))
    parts += ["<h2>Reconstructions</h2>", *_reconstruction_grids(home, store, runs)]
    parts += [_run_section(store, run, by_run.get(run.run_id)) for run in runs.itertuples()]
    title = html.escape(f"latentgap report — {what}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style>\n<script>{get_plotlyjs()}</script></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def write_report(home: Path, run_ids: list[str], out: str | os.PathLike | None = None) -> Path:
    """Write the report of these runs to `out` (default `default_path`); the file appears whole or not at all."""
    run_ids = list(dict.fromkeys(run_ids))
    path = Path(out) if out else default_path(Path(home), run_ids)
    if path.is_dir():
        raise LatentgapError(f"--out {path} is a folder; give a file name, e.g. {path / 'report.html'}")
    page = build_report(home, run_ids)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise LatentgapError(f"cannot write the report to {path} ({e.strerror}); give a writable --out path") from None
    return path
