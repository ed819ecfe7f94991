"""Latent explorer tab: the same samples projected (UMAP) from the latents, from image-space features and, where
stored, from reconstruction features, side by side with linked selection.

Drawn with plotly's WebGL `scattergl` in the page's own plotly.js (a gr.HTML component, `data/ui/explorer.js`):
WebGL draws, hovers and box / lasso-selects 100k points at interactive rates, and plotly is already the dashboard's
plotting library (gr.Plot has no hover or selection events, gr.ScatterPlot draws SVG/canvas marks through Vega).
Hovering a point shows its stored thumbnails and metadata; a selection fills a gallery with each selected sample's
image, reconstruction, error map, first latent channels and every arm's prediction. Everything shown was stored by
the diagnosis job (store tables, `thumbnails.py` files): a request only reads.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

PANEL_TITLES = {
    "latent": "latents (normalised)",
    "image": "image-space features (pooled pixels)",
    "reconstruction": "reconstruction features (pooled pixels)",
}
SPLITS = ("train", "val", "test")
ARM_ORDER = ("image", "reconstruction", "latent")  # first in tables and menus; other arms follow by name
PSNR = "reconstruction PSNR (dB)"
GALLERY_SAMPLES = 24  # samples shown in the gallery (4 tiles each)
TABLE_ROWS = 500  # samples listed in the table (a 100k-point selection would stall the page)
PRESETS = {
    "latent wrong, image right (what the latent loses)": lambda t: ~t.latent_ok & t.image_ok,
    "latent right, image wrong": lambda t: t.latent_ok & ~t.image_ok,
    "both wrong": lambda t: ~t.latent_ok & ~t.image_ok,
    "all test samples": lambda t: np.ones(len(t), bool),
}


@dataclass(frozen=True)
class Samples:
    """What the explorer shows of one run: `table` has one row per sample of the projected fold (sample_index,
    label, split, psnr, ssim, and per arm `pred:ARM` (−1: no prediction) and `conf:ARM`); `panels` maps a panel
    title to its points (x, y, pos = the sample's row in `table`)."""

    run_id: str
    table: pd.DataFrame
    panels: dict[str, pd.DataFrame]
    arms: list[str]
    class_names: list[str]


def load_samples(home: Path, run_id: str) -> Samples:
    """The run's projections joined with its per-sample predictions and fidelity (named store queries)."""
    from latentgap.store import Store

    store = Store(home)
    proj, names = store.projections(run_id), store.class_names(run_id)
    if proj.empty:
        return Samples(run_id, pd.DataFrame(columns=["sample_index", "label", "split", "psnr", "ssim"]), {}, [], names)
    fold = int(proj.fold.iloc[0])  # a run stores the projections of one fold (its first)
    proj = proj[proj.fold == fold]
    table = proj.drop_duplicates("sample_index").sort_values("sample_index")[["sample_index", "label", "split"]]
    table = table.reset_index(drop=True).merge(store.sample_fidelity(run_id), on="sample_index", how="left")
    preds = store.predictions(run_id, fold)
    if preds.empty:  # runs before per-sample predictions: each panel's own classifier, as the projections kept it
        preds = proj[proj.predicted.notna()].rename(columns={"space": "arm"}).assign(confidence=np.nan)
    arms = sorted(preds.arm.unique(), key=lambda a: (ARM_ORDER.index(a) if a in ARM_ORDER else len(ARM_ORDER), a))
    index = table.sample_index.to_numpy()
    for arm in arms:
        g = preds[preds.arm == arm]
        pos = np.searchsorted(index, g.sample_index.to_numpy())
        predicted, confidence = np.full(len(table), -1), np.full(len(table), np.nan)
        predicted[pos], confidence[pos] = g.predicted.to_numpy(int), g.confidence.to_numpy(float)
        table[f"pred:{arm}"], table[f"conf:{arm}"] = predicted, confidence
    spaces = sorted(proj.space.unique(), key=lambda s: list(PANEL_TITLES).index(s) if s in PANEL_TITLES else 99)
    panels = {}
    for space in spaces:
        d = proj[proj.space == space]
        panels[PANEL_TITLES.get(space, space)] = pd.DataFrame(
            {"x": d.x.to_numpy(), "y": d.y.to_numpy(), "pos": np.searchsorted(index, d.sample_index.to_numpy())}
        )
    return Samples(run_id, table, panels, arms, names)


def colour_choices(s: Samples) -> list[str]:
    """What the run can be coloured by: class, split, each arm's correct / wrong, PSNR and the latent arms'
    confidence where stored."""
    out = ["class", "split", *[f"correct: {arm}" for arm in s.arms]]
    if s.table.psnr.notna().any():
        out.append(PSNR)
    out += [f"confidence: {a}" for a in s.arms if a.startswith("latent") and s.table[f"conf:{a}"].notna().any()]
    return out


def point_colours(s: Samples, colour_by: str):
    """The `plots.PointColours` of `colour_by` (one of `colour_choices`); samples outside the test split are the
    background in every colouring."""
    from latentgap.errors import LatentgapError
    from latentgap.plots import OUTCOME_COLORS, PALETTE, SPLIT_COLORS, PointColours

    t = s.table
    background = (t.split != "test").to_numpy()
    if colour_by not in colour_choices(s):
        raise LatentgapError(f"cannot colour run {s.run_id} by {colour_by!r}; choose one of: {colour_choices(s)}")
    if colour_by == "class":
        names = [_class_name(s.class_names, c) for c in range(max(len(s.class_names), int(t.label.max()) + 1))]
        return PointColours(
            "class",
            background,
            groups=np.array(names, dtype=object)[t.label.to_numpy(int)],
            palette={n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)},
        )
    if colour_by == "split":
        return PointColours("split", background, groups=t.split.to_numpy(object), palette=dict(SPLIT_COLORS))
    if colour_by == PSNR:
        return PointColours(PSNR, background, values=t.psnr.to_numpy(float), colorscale="Viridis")
    kind, arm = colour_by.split(": ", 1)
    if kind == "confidence":
        chance = 1 / max(len(s.class_names), 2)
        return PointColours(
            f"{arm} confidence", background, values=t[f"conf:{arm}"].to_numpy(float), value_range=(chance, 1.0)
        )
    pred = t[f"pred:{arm}"].to_numpy(int)
    outcome = np.where(pred < 0, "not in test split", np.where(pred == t.label.to_numpy(int), "correct", "wrong"))
    return PointColours(f"{arm} correct / wrong", background, groups=outcome, palette=dict(OUTCOME_COLORS))


def _class_name(names: list[str], c: int) -> str:
    return names[c] if 0 <= c < len(names) else str(c)


def _b64(a: np.ndarray) -> dict:
    """A typed array as plotly.py writes one (little-endian bytes, base64): the page decodes both alike."""
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str.lstrip("<|="), "bdata": base64.b64encode(a.tobytes()).decode()}


def _small_int(a: np.ndarray) -> dict:
    """Integers in the narrowest signed type that holds them (class numbers of a 100k-point payload: 1 byte each)."""
    a = np.asarray(a)
    for dtype in (np.int8, np.int16):
        if a.size == 0 or (a.min() >= np.iinfo(dtype).min and a.max() <= np.iinfo(dtype).max):
            return _b64(a.astype(dtype))
    return _b64(a.astype(np.int32))


def _unit(a: np.ndarray) -> dict:
    """Values in [0, 1] (confidence, SSIM) as one byte each: round(254·v), 255 for none; the page divides by 254."""
    a = np.asarray(a, dtype=float)
    return _b64(np.where(np.isnan(a), 255, np.round(np.clip(a, 0, 1) * 254)).astype(np.uint8))


def _thumbs_meta(home: Path, run_id: str) -> dict | None:
    from latentgap.thumbnails import load_thumbnail_index
    from latentgap.ui.media import file_url

    meta = load_thumbnail_index(home, run_id)
    if meta is None:
        return None
    return dict(
        base=file_url(meta["folder"]) + "/",
        samples=_b64(np.asarray(meta["samples"], np.int32)),
        count=len(meta["samples"]),
        kinds=meta["kinds"],
        suffix=meta["suffix"],
        error_max=meta["error_max"],
    )


def explorer_view(home: Path, run_id: str | None, colour_by: str = "class", show_background: bool = True) -> str:
    """The page's payload (JSON): the plotly figure and each sample's metadata (label, split, PSNR, every arm's
    prediction and confidence, which samples have thumbnails and where they are served)."""
    from latentgap.plots import explorer_figure

    if not run_id:
        return json.dumps({"message": "choose a run"})
    s = load_samples(home, run_id)
    if not s.panels:
        return json.dumps({"message": f"run {run_id} stored no projections (runs before the explorer have none)"})
    t = s.table
    fig = explorer_figure(s.panels, point_colours(s, colour_by), show_background, uirevision=run_id)
    meta = dict(
        run=run_id,
        n=len(t),
        class_names=s.class_names,
        splits=list(SPLITS),
        sample_index=_b64(t.sample_index.to_numpy(np.int32)),
        label=_small_int(t.label.to_numpy(int)),
        split=_b64(pd.Categorical(t.split, categories=SPLITS).codes.astype(np.int8)),  # -1: another split
        psnr=_b64(t.psnr.to_numpy(np.float32)),
        ssim=_unit(t.ssim.to_numpy(float)),
        arms=s.arms,
        predicted={a: _small_int(t[f"pred:{a}"].to_numpy(int)) for a in s.arms},
        confidence={a: _unit(t[f"conf:{a}"].to_numpy(float)) for a in s.arms},
        thumbs=_thumbs_meta(home, run_id),
    )
    return '{"figure": ' + fig.to_json() + ', "meta": ' + json.dumps(meta) + "}"


def parse_samples(text: str | None) -> list[int]:
    """Sample numbers from free text ("3 17, 42"), in order, without repeats."""
    return list(dict.fromkeys(int(x) for x in re.findall(r"\d+", text or "")))


def preset_samples(home: Path, run_id: str | None, preset: str) -> str:
    """The test samples of a preset (e.g. those the latent arm gets wrong and the image arm right), as text."""
    if not run_id or preset not in PRESETS:
        return ""
    t = load_samples(home, run_id).table
    if not {"pred:latent", "pred:image"} <= set(t):
        return ""
    t = t[(t["pred:latent"] >= 0) & (t["pred:image"] >= 0)]
    t = t.assign(latent_ok=t["pred:latent"] == t.label, image_ok=t["pred:image"] == t.label)
    return " ".join(map(str, t.sample_index[PRESETS[preset](t)]))


def selection_view(home: Path, run_id: str | None, selected: str | None) -> tuple[list, pd.DataFrame, str]:
    """(gallery tiles, table, caption) of the selected samples: per sample its image, reconstruction, error map
    and first latent channels (stored thumbnails), and a table row with every arm's prediction."""
    from latentgap.thumbnails import load_thumbnail_index, sample_files

    samples = parse_samples(selected)
    if not run_id or not samples:
        return (
            [],
            pd.DataFrame(columns=["sample", "class", "split"]),
            "select points: drag a box (or lasso) in the plot",
        )
    s = load_samples(home, run_id)
    t = s.table.set_index("sample_index")
    known = [i for i in samples if i in t.index]
    known.sort(key=lambda i: t.split[i] != "test")  # test samples (with predictions) first, else as given
    meta = load_thumbnail_index(home, run_id)
    tiles, shown = [], 0
    for i in known:
        row = t.loc[i]
        files = sample_files(meta, i)
        if not files or shown == GALLERY_SAMPLES:
            continue
        shown += 1
        name = _class_name(s.class_names, int(row.label))
        captions = {
            "image": f"#{i} {name} ({row.split})",
            "reconstruction": f"#{i} reconstruction" + (f" · {row.psnr:.1f} dB" if pd.notna(row.psnr) else ""),
            "error": f"#{i} |error| (0–{meta['error_max']:g})",
            "latent": f"#{i} latent channels {meta['latent_channels'][0]}–{meta['latent_channels'][-1]} (row by row)",
        }
        tiles += [(str(files[k]), captions[k]) for k in ("image", "reconstruction", "error", "latent") if k in files]
    table = _selection_table(s, t.loc[known[:TABLE_ROWS]])
    caption = f"**{len(known)} samples selected**; the gallery shows {shown}" + (
        f" (at most {GALLERY_SAMPLES}; only samples with stored thumbnails)" if shown < len(known) else ""
    )
    if len(known) > TABLE_ROWS:
        caption += f"; the table lists the first {TABLE_ROWS}"
    if len(known) < len(samples):
        caption += f"; not in this run: {', '.join(map(str, sorted(set(samples) - set(known))[:10]))}"
    return tiles, table, caption


def _selection_table(s: Samples, rows: pd.DataFrame) -> pd.DataFrame:
    name = lambda c: _class_name(s.class_names, int(c))
    out = pd.DataFrame(
        {"sample": rows.index.astype(int), "class": rows.label.map(name), "split": rows.split, "PSNR (dB)": rows.psnr}
    )
    for arm in s.arms:
        pred, ok = rows[f"pred:{arm}"], rows[f"pred:{arm}"] == rows.label
        out[arm] = [("" if p < 0 else f"{name(p)} {'✓' if k else '✗'}") for p, k in zip(pred, ok)]
    if "conf:latent" in rows and rows["conf:latent"].notna().any():
        out["latent confidence"] = rows["conf:latent"].round(3)
    return out.round({"PSNR (dB)": 2}).reset_index(drop=True)


def _resource(name: str) -> str:
    from latentgap.resources import data_dir

    return (data_dir() / "ui" / name).read_text()


def build_explorer_tab(app, home: Path, tab):
    import gradio as gr

    from latentgap.errors import LatentgapError
    from latentgap.thumbnails import ERROR_COLORSCALE, ERROR_MAX, LATENT_COLORSCALE, LATENT_RANGE
    from latentgap.ui.media import colorbar_html, file_url, plotly_js, serve_media

    def explorer_payload(request: dict) -> str:
        """The payload of one view, fetched by the page through a server function (a direct request: megabytes of
        points stay out of Gradio's component state, which re-serialises a component's value on every update)."""
        try:
            return explorer_view(
                home, request.get("run"), request.get("colour", "class"), request.get("background", True)
            )
        except LatentgapError as e:
            return json.dumps({"message": str(e)})

    serve_media(home)
    with gr.Row():
        run = gr.Dropdown(label="run", choices=[], scale=3, allow_custom_value=True)
        colour = gr.Dropdown(["class"], value="class", label="colour by", scale=2, allow_custom_value=True)
        background = gr.Checkbox(value=True, label="show train / val points (paler, under the test split)", scale=1)
    plot = gr.HTML(
        value="",
        html_template=_resource("explorer.html"),
        css_template=_resource("explorer.css"),
        js_on_load=_resource("explorer.js"),
        head=f'<script src="{file_url(plotly_js())}"></script>',
        elem_id="explorer-plot",
        min_height=560,
        server_functions=[explorer_payload],
    )
    with gr.Row():
        preset = gr.Dropdown(list(PRESETS), value=None, label="select test samples by outcome", scale=2)
        selected = gr.Textbox(
            label="selected samples (drag a box or lasso in the plot, pick a preset, or type sample numbers)",
            elem_id="explorer-selected",
            scale=4,
        )
    caption = gr.Markdown(elem_id="explorer-caption")
    gr.HTML(
        colorbar_html(
            ERROR_COLORSCALE,
            0,
            ERROR_MAX,
            f"error map: |image − reconstruction|, intensity in [0, 1] (≥ {ERROR_MAX:g} saturates)",
        )
        + colorbar_html(LATENT_COLORSCALE, -LATENT_RANGE, LATENT_RANGE, "latent channels: normalised value (std 0.5)")
    )
    gallery = gr.Gallery(
        label="image · reconstruction · error map · latent channels (click to enlarge)",
        columns=8,  # two samples a row
        height=640,
        object_fit="contain",
        elem_id="explorer-gallery",
    )
    table = gr.Dataframe(
        value=pd.DataFrame(columns=["sample", "class", "split"]),
        label="selected samples: every arm's prediction",
        interactive=False,
        max_height=360,
        elem_id="explorer-table",
    )

    def view(r, c, b):  # the plot's value is what to draw; the page then fetches it (explorer_payload)
        return json.dumps({"run": r or None, "colour": c, "background": bool(b)})

    def payload(run_id: str, colour_by: str = "class", show_background: bool = True) -> str:
        """The explorer's figure and per-sample metadata as JSON (what the page draws)."""
        return explorer_payload({"run": run_id, "colour": colour_by, "background": show_background})

    def open_run(r, c, b):
        choices = colour_choices(load_samples(home, r)) if r else ["class"]
        c = c if c in choices else "class"
        return gr.Dropdown(choices=choices, value=c), view(r, c, b), ""

    def on_selection(evt):
        return " ".join(map(str, evt.samples))

    on_selection.__annotations__["evt"] = gr.EventData  # a real class: postponed annotations would hide it

    gr.on(
        [tab.select, run.input],
        open_run,
        inputs=[run, colour, background],
        outputs=[colour, plot, selected],
        api_name="explorer_run",
    )
    gr.on([colour.input, background.input], view, inputs=[run, colour, background], outputs=plot, api_name=False)
    gr.api(payload, api_name="explorer")
    plot.selection(on_selection, outputs=selected, api_name=False)
    preset.input(lambda r, p: preset_samples(home, r, p), inputs=[run, preset], outputs=selected, api_name=False)
    selected.change(
        lambda r, s: selection_view(home, r, s),
        inputs=[run, selected],
        outputs=[gallery, table, caption],
        api_name="explorer_selection",
        trigger_mode="always_last",
    )
    return run
