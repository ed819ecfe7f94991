"""Plotly figure builders: pure functions, records in, figure out (no store access, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from latentgap.arms import ARMS, Arm

# each arm's colour is the arms registry's (arms.ARMS), so every figure draws an arm alike
SPACE_COLORS = {a: ARMS[a].color for a in ("image", "reconstruction", "latent")}
MAX_BAR_RUNS = 40
MAX_GAP_LABELS = 8  # groups up to which each bar group is labelled with its paper gap


def gap_bars(gap: pd.DataFrame, metric: str = "balanced_accuracy") -> go.Figure:
    """Grouped bars of image / reconstruction / latent per (autoencoder, dataset), the paper gap (the bars' own
    difference: reconstruction − latent) annotated with its CI."""
    fig = go.Figure()
    if gap.empty:
        fig.add_annotation(
            text="no results yet: run a diagnosis", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
        return fig
    shown = gap.head(MAX_BAR_RUNS)  # the newest runs: more groups than this are unreadable (the table has them all)
    labels = [
        f"{a}<br>{d}{' (synthetic)' if s else ''}<br>{r[-6:]}"
        for a, d, s, r in zip(shown.autoencoder, shown.dataset, shown.synthetic, shown.run_id)
    ]
    for space, color in SPACE_COLORS.items():
        fig.add_bar(
            name=space,
            x=labels,
            y=shown[space],
            marker_color=color,
            text=[f"{v:.3f}" for v in shown[space]],
            textposition="outside",
        )
    # one layout update, not an add_annotation per run: ~10x faster with 100 runs (profiled, bench page section);
    # beyond a few groups the labels overlap (the table has the numbers), and an encoder-only run has no gap
    fig.update_layout(
        annotations=[
            dict(
                x=x,
                y=np.nanmax([row.image, row.reconstruction, row.latent]) + 0.08,
                showarrow=False,
                text=f"paper gap {row.gap:+.3f} [{row.gap_ci_low:+.3f}, {row.gap_ci_high:+.3f}]",
            )
            for x, row in zip(labels, shown.itertuples())
            if len(shown) <= MAX_GAP_LABELS and np.isfinite(row.gap)
        ]
    )
    fig.update_layout(
        barmode="group",
        yaxis_title=metric.replace("_", " "),
        yaxis_range=[0, 1.15],
        title="Same classifier recipe on images, reconstructions and latents (test split)"
        + (f" — newest {MAX_BAR_RUNS} of {len(gap)} runs" if len(gap) > MAX_BAR_RUNS else ""),
        legend_title="space",
        margin=dict(t=60, b=40),
    )
    return fig


CURVE_STYLES = {a: ARMS[a].color for a in ("latent", "latent-noise", "latent-film", "latent-film-distilled")}


def _band(x: pd.Series, low: pd.Series, high: pd.Series, color: str, group: str) -> go.Scatter:
    """A translucent interval band between `low` and `high` (one closed polygon: high forwards, low backwards)."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return go.Scatter(
        x=np.r_[x.to_numpy(), x.to_numpy()[::-1]],
        y=np.r_[high.to_numpy(), low.to_numpy()[::-1]],
        fill="toself",
        fillcolor=f"rgba({r},{g},{b},0.15)",
        mode="lines",  # no markers at the polygon's corners
        line_width=0,
        legendgroup=group,
        showlegend=False,
        hoverinfo="skip",
    )


def noise_curves(
    curves: pd.DataFrame,
    clean: pd.DataFrame,
    metric: str = "balanced_accuracy",
    chance: float | None = None,
    trained_sigma: tuple[float, float] | None = None,
) -> go.Figure:
    """Per-noise-level `metric` of each latent classifier (log σ axis) with its 95 % bootstrap band where stored;
    image and reconstruction as reference lines, the chance level, and the σ range the noise-trained arms saw.

    curves: `Store.noise_curves()` rows of one run (value, ci_low, ci_high); clean: that run's clean metrics (arm,
    metric, value); chance: the metric of a classifier that guesses (1 / classes for balanced accuracy, 0.5 AUROC);
    trained_sigma: (lowest, highest) σ of the noise-trained arms' training levels.
    """
    fig = go.Figure()
    if curves.empty:
        fig.add_annotation(
            text="no noise curves stored for this run", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
        return fig
    if trained_sigma is not None:
        fig.add_vrect(
            x0=trained_sigma[0],
            x1=trained_sigma[1],
            fillcolor="#8172b3",
            opacity=0.12,
            line_width=0,
            layer="below",
            annotation_text=f"noise training σ {trained_sigma[0]:.3g}–{trained_sigma[1]:.3g}",
            annotation_position="top left",
        )
    for space, color in CURVE_STYLES.items():
        c = curves[(curves.arm == space) & (curves.metric == metric)].sort_values("noise_level")
        if c.empty:
            continue
        ci = c.dropna(subset=["ci_low", "ci_high"]) if {"ci_low", "ci_high"} <= set(c) else c.head(0)
        if not ci.empty:
            fig.add_trace(_band(ci.noise_level, ci.ci_low, ci.ci_high, color, space))
        fig.add_scatter(
            x=c.noise_level, y=c.value, name=space, legendgroup=space, mode="lines+markers", line_color=color
        )
    _chance_line(fig, chance)
    for space, dash, where in (("image", "dash", "top right"), ("reconstruction", "dot", "bottom right")):
        v = clean[(clean.arm == space) & (clean.metric == metric)].value
        if len(v):
            fig.add_hline(
                y=float(v.mean()),
                line_dash=dash,
                annotation_text=f"{space} (clean)",
                annotation_position=where,
                line_color=SPACE_COLORS[space],
            )
    fig.update_layout(
        xaxis_type="log",
        xaxis_title="noise level σ (latent std 0.5)",
        yaxis_title=metric.replace("_", " "),
        yaxis_range=[0, 1.05],
        title="Learnability along the diffusion trajectory (test split; bands: 95 % bootstrap intervals)",
        legend_title="classifier",
    )
    return fig


CLASS_SPACES = ("image", "reconstruction", "latent", "latent-film-distilled")


def class_accuracy_bars(per_class: pd.DataFrame) -> go.Figure:
    """Per-class test accuracy (recall) in each space; rare classes are why people use generative augmentation.

    per_class: `Store.class_metrics()` rows of one run (arm, class_name, support, accuracy), averaged over folds.
    """
    fig = go.Figure()
    if per_class.empty:
        fig.add_annotation(
            text="no per-class results for this run", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
        )
        return fig
    df = per_class.groupby(["arm", "class_index", "class_name"], as_index=False).agg(
        accuracy=("accuracy", "mean"), support=("support", "sum")
    )
    colors = {**SPACE_COLORS, "latent-film-distilled": CURVE_STYLES["latent-film-distilled"]}
    for space in CLASS_SPACES:
        d = df[df.arm == space].sort_values("class_index")
        if not d.empty:
            fig.add_bar(
                name=space,
                x=[f"{c}<br>n={n}" for c, n in zip(d.class_name, d.support)],
                y=d.accuracy,
                marker_color=colors[space],
            )
    fig.update_layout(
        barmode="group",
        yaxis_title="test accuracy of the class (recall)",
        yaxis_range=[0, 1.05],
        title="Per-class accuracy by space (n = test images of the class)",
        legend_title="space",
    )
    return fig


def confusion_grid(confusion: pd.DataFrame, class_names: list[str]) -> go.Figure:
    """Row-normalised confusion matrices of image, reconstruction and latent classifiers side by side."""
    from plotly.subplots import make_subplots

    spaces = [s for s in CLASS_SPACES[:3] if s in set(confusion.arm)]
    fig = make_subplots(rows=1, cols=max(len(spaces), 1), subplot_titles=spaces, horizontal_spacing=0.08)
    k = len(class_names)
    for i, space in enumerate(spaces, start=1):
        m = confusion[confusion.arm == space].groupby(["true_class", "pred_class"])["count"].sum()
        mat = m.unstack(fill_value=0).reindex(index=range(k), columns=range(k), fill_value=0).to_numpy(float)
        norm = mat / mat.sum(axis=1, keepdims=True).clip(min=1)
        fig.add_heatmap(
            z=norm,
            x=class_names,
            y=class_names,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            showscale=i == 1,
            text=mat.astype(int),
            texttemplate="%{text}",
            hovertemplate="true %{y}<br>predicted %{x}<br>share %{z:.2f}<extra></extra>",
            row=1,
            col=i,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    fig.update_layout(title="Confusion matrices (rows: true class, normalised; numbers: counts)", height=420)
    return fig


def _empty(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
# correct in a calm grey-blue, wrong in red-orange (never green / blue for the pair); no value in pale grey
OUTCOME_COLORS = {"not in test split": "#d0d0d0", "correct": "#8fa3bf", "wrong": "#e4572e"}
SPLIT_COLORS = {"train": "#b9c6d8", "val": "#f1b27a", "test": "#1f4e89"}  # test dark, drawn last (on top)
NO_VALUE = "#d0d0d0"


def point_colors(proj: pd.DataFrame, color_by: str, class_names: list[str]) -> pd.Series:
    """The legend group of each projected sample: its class, its split, or whether that space's classifier was
    right on it (test samples only)."""
    if color_by == "class":
        return proj.label.map(lambda c: class_names[c] if c < len(class_names) else str(c))
    if color_by == "split":
        return proj.split.astype(str)
    assert color_by == "correct", color_by
    tested = proj.predicted.notna()
    right = tested & (proj.predicted == proj.label)
    return (
        pd.Series(["not in test split"] * len(proj), index=proj.index)
        .mask(tested & right, "correct")
        .mask(tested & ~right, "wrong")
    )


def _hover_text(proj: pd.DataFrame, class_names: list[str]) -> np.ndarray:
    """One hover label per point as a numpy string array (plotly validates those without a Python loop)."""
    names = np.array([*class_names, "-"], dtype=object)
    pred = proj.predicted.fillna(len(class_names)).to_numpy(int).clip(0, len(class_names))
    lab = proj.label.to_numpy(int).clip(0, len(class_names))
    parts = [
        "sample " + proj.sample_index.astype(str).to_numpy(object),
        "<br>class " + names[lab],
        "<br>" + proj.split.astype(str).to_numpy(object) + " split",
        "<br>predicted " + names[pred],
    ]
    return np.asarray(parts[0] + parts[1] + parts[2] + parts[3], dtype=str)


def umap_grid(projections: dict[str, pd.DataFrame], color_by: str, class_names: list[str]) -> go.Figure:
    """UMAP scatter panels side by side (WebGL), one per entry of `projections` (title -> `Store.projections()` rows
    of one space), coloured by `color_by`; hover names the sample, its class, split and prediction."""
    from plotly.subplots import make_subplots

    projections = {k: v for k, v in projections.items() if not v.empty}
    if not projections:
        return _empty("no projections stored for this run (runs before latentgap stored UMAPs have none)")
    fig = make_subplots(rows=1, cols=len(projections), subplot_titles=list(projections), horizontal_spacing=0.04)
    groups = sorted({g for p in projections.values() for g in point_colors(p, color_by, class_names)})
    color = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)} | OUTCOME_COLORS
    for col, proj in enumerate(projections.values(), start=1):
        group = point_colors(proj, color_by, class_names)
        for g in groups:
            d = proj[group == g]
            if d.empty:
                continue
            fig.add_trace(
                go.Scattergl(
                    x=d.x.to_numpy(),
                    y=d.y.to_numpy(),
                    mode="markers",
                    name=g,
                    legendgroup=g,
                    showlegend=col == 1,
                    marker=dict(color=color[g], size=5, opacity=0.75),
                    text=_hover_text(d, class_names),
                    hovertemplate="%{text}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(
        height=480,
        legend_title=color_by,
        margin=dict(t=50, l=10, r=10, b=10),
        title=f"UMAP of the same samples, coloured by {color_by}",
    )
    return fig


@dataclass(frozen=True)
class PointColours:
    """How the Latent explorer colours its samples; every array has one entry per sample position (a row of the
    explorer's sample table). Either categorical (`groups` with `palette`: group -> colour, in legend and drawing
    order, later on top) or continuous (`values`, NaN where a sample has none, with `colorscale` and `value_range`).
    `background` marks samples outside the test split: drawn first, smaller and paler, or hidden."""

    title: str
    background: np.ndarray
    groups: np.ndarray | None = None
    palette: dict[str, str] | None = None
    values: np.ndarray | None = None
    colorscale: str = "Viridis"
    value_range: tuple[float, float] | None = None


def _marker_size(n_points: int) -> int:
    return 7 if n_points <= 2_000 else 5 if n_points <= 20_000 else 3


def explorer_figure(
    panels: dict[str, pd.DataFrame], colours: PointColours, show_background: bool = True, uirevision: str = ""
) -> go.Figure:
    """Scatter panels side by side in one WebGL figure, one per entry of `panels` (title -> rows with x, y and
    `pos`, the sample's position in the explorer's sample table). Every trace's customdata is `pos`, which the
    page uses to link a box / lasso selection across panels and to look up its hover card; plotly's own hover
    label is off. Test samples are drawn over the others, which are smaller and paler (or hidden)."""
    from plotly.subplots import make_subplots

    panels = {k: v for k, v in panels.items() if not v.empty}
    if not panels:
        return _empty("no projections stored for this run (runs before latentgap stored UMAPs have none)")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), horizontal_spacing=0.03)
    size = _marker_size(max(len(p) for p in panels.values()))
    background = []  # per trace: whether it holds background points

    def add(col: int, d: pd.DataFrame, name: str, marker: dict, back: bool) -> None:
        fig.add_trace(
            go.Scattergl(
                x=d.x.to_numpy(np.float32),
                y=d.y.to_numpy(np.float32),
                customdata=d.pos.to_numpy(np.int32),
                mode="markers",
                name=name,
                legendgroup=name,
                showlegend=False,
                marker=dict(size=max(2, size - 2) if back else size, opacity=0.35 if back else 0.9, **marker),
                hoverinfo="none",
                unselected=dict(marker=dict(opacity=0.06)),
            ),
            row=1,
            col=col,
        )
        background.append(back)

    for back in (True, False) if show_background else (False,):  # background first: test points on top
        for col, p in enumerate(panels.values(), start=1):
            d = p[colours.background[p.pos] == back]
            if d.empty:
                continue
            if colours.values is None:
                group = colours.groups[d.pos]
                for name, color in colours.palette.items():
                    if (group == name).any():
                        add(col, d[group == name], name, dict(color=color), back)
                continue
            v = colours.values[d.pos]
            if np.isnan(v).any():
                add(col, d[np.isnan(v)], "no value", dict(color=NO_VALUE), back)
            lo, hi = colours.value_range or (np.nanmin(colours.values), np.nanmax(colours.values))
            scale = dict(colorscale=colours.colorscale, cmin=lo, cmax=hi)
            bar = dict(colorbar=dict(title=dict(text=colours.title, side="right"), thickness=14), showscale=True)
            first = not any(t.name == colours.title for t in fig.data)  # one colour bar for all panels
            add(
                col,
                d[~np.isnan(v)],
                colours.title,
                dict(color=v[~np.isnan(v)].astype(np.float32), **scale, **(bar if first else {})),
                back,
            )
    groups = dict.fromkeys(t.name for t in fig.data if colours.values is None or t.name == "no value")
    for name in groups:  # one legend entry a group, from a test-split trace if any (a colour bar needs none)
        group = [(t, back) for t, back in zip(fig.data, background) if t.name == name]
        next((t for t, back in group if not back), group[0][0]).showlegend = True
    frame = dict(showticklabels=False, showgrid=False, zeroline=False, showline=True, linecolor="#c8c8c8", mirror=True)
    fig.update_xaxes(**frame)
    fig.update_yaxes(**frame)
    fig.update_layout(
        height=560,
        plot_bgcolor="white",
        dragmode="select",
        hovermode="closest",
        uirevision=uirevision,  # zoom and selection survive a change of colouring
        legend=dict(title=colours.title, itemsizing="constant"),
        margin=dict(t=60, l=10, r=10, b=10),
        title=f"UMAP of the same samples, coloured by {colours.title} (drag: box select; toolbar: lasso, zoom)",
    )
    return fig


def thumbnail_rgb(thumb: np.ndarray) -> np.ndarray:
    """(C, h, w) uint8 -> (h, w, 3) uint8 for display."""
    hwc = np.moveaxis(thumb, 0, -1)
    return np.repeat(hwc, 3, axis=-1) if hwc.shape[-1] == 1 else hwc[..., :3]


def _diff(image: np.ndarray, recon: np.ndarray, gain: float) -> np.ndarray:
    a, b = image.astype(np.float32), recon.astype(np.float32)
    if a.shape[0] != b.shape[0]:  # a grayscale AE on RGB input: compare the channel means, as it was encoded
        a, b = a.mean(0, keepdims=True), b.mean(0, keepdims=True)
    return np.clip(np.abs(a - b) * gain, 0, 255).astype(np.uint8)


def reconstruction_grid(
    galleries: dict[str, dict], class_names: list[str], per_class: int = 2, diff_gain: float = 4.0
) -> go.Figure:
    """Original | reconstruction | |difference| per autoencoder, `per_class` samples of every class in rows.

    galleries: autoencoder label -> `gallery.load_gallery()` arrays of runs on the same benchmark and seed (they
    hold the same samples, so the rows line up); the titles give each reconstruction's PSNR (dB) / SSIM.
    """
    from plotly.subplots import make_subplots

    galleries = {k: g for k, g in galleries.items() if g is not None}
    if not galleries:
        return _empty("no reconstructions stored for this run (runs before latentgap stored galleries have none)")
    first = next(iter(galleries.values()))
    shared = set(first["index"].tolist()).intersection(*(set(g["index"].tolist()) for g in galleries.values()))
    rows = []  # (class, sample index) in display order
    for c in range(len(class_names)):
        idx = [int(i) for i, lab in zip(first["index"], first["label"]) if lab == c and int(i) in shared]
        rows += [(c, i) for i in idx[:per_class]]
    if not rows:
        return _empty("the selected runs share no samples: compare runs on the same benchmark and seed")
    cols = ["original"] + [
        f"{name} {kind}" for name in galleries for kind in ("reconstruction", f"|diff| x{diff_gain:g}")
    ]
    titles = []
    for c, i in rows:
        titles.append(f"{class_names[c]} #{i}")
        for g in galleries.values():
            k = int(np.searchsorted(g["index"], i))
            titles += [f"{g['psnr'][k]:.1f} dB / {g['ssim'][k]:.2f}", ""]
    titles[: len(cols)] = [f"<b>{col}</b><br>{t}" for col, t in zip(cols, titles)]  # column headers on the first row
    fig = make_subplots(
        rows=len(rows), cols=len(cols), subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.04
    )
    for r, (_, i) in enumerate(rows, start=1):
        k0 = int(np.searchsorted(first["index"], i))
        fig.add_trace(go.Image(z=thumbnail_rgb(first["image"][k0]), hoverinfo="skip"), row=r, col=1)
        for j, g in enumerate(galleries.values()):
            k = int(np.searchsorted(g["index"], i))
            fig.add_trace(go.Image(z=thumbnail_rgb(g["reconstruction"][k]), hoverinfo="skip"), row=r, col=2 + 2 * j)
            fig.add_trace(
                go.Image(z=thumbnail_rgb(_diff(g["image"][k], g["reconstruction"][k], diff_gain)), hoverinfo="skip"),
                row=r,
                col=3 + 2 * j,
            )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(
        height=110 * len(rows) + 80,
        margin=dict(t=70, l=5, r=5, b=5),
        title="Reconstructions of test samples per class (PSNR / SSIM of each)",
    )
    return fig


def compare_noise_curves(
    curves: pd.DataFrame, metric: str = "balanced_accuracy", arms: tuple[str, ...] = ("latent", "latent-film-distilled")
) -> go.Figure:
    """Per-noise-level `metric` of several autoencoders' latent classifiers on one figure: colour = autoencoder,
    dash = classifier. curves: `Store.noise_curves()` rows of the compared runs (with an `autoencoder` column)."""
    d = curves[(curves.metric == metric) & curves.arm.isin(arms)] if not curves.empty else curves
    if d.empty:
        return _empty("no noise curves stored for the selected runs")
    fig = go.Figure()
    dashes = dict(zip(arms, ("dot", "solid", "dash", "dashdot")))
    for j, (ae, g) in enumerate(d.groupby("autoencoder", sort=False)):
        for space in arms:
            c = g[g.arm == space].sort_values("noise_level")
            if not c.empty:
                fig.add_scatter(
                    x=c.noise_level,
                    y=c.value,
                    name=f"{ae} · {space}",
                    mode="lines+markers",
                    line=dict(color=PALETTE[j % len(PALETTE)], dash=dashes[space]),
                )
    fig.update_layout(
        xaxis_type="log",
        xaxis_title="noise level σ (latent std 0.5)",
        yaxis_title=metric.replace("_", " "),
        title="Learnability along the diffusion trajectory, per autoencoder",
        legend_title="classifier",
    )
    return fig


def efficiency_bars(comparisons: pd.DataFrame) -> go.Figure:
    """Latent-over-image throughput (train, inference) and memory ratios per latent case (log axis), with the
    paper's published 64x and 120x as reference lines. comparisons: `ui.efficiency.comparisons()` rows."""
    if comparisons.empty:
        return _empty("no benchmark results yet: run `python -m latentgap bench --quick`")
    from latentgap.published import PUBLISHED

    labels = [f"{r.latent}<br>vs {r.image}<br>({r.results})" for r in comparisons.itertuples()]
    fig = go.Figure()
    for col, name, color in (
        ("train_throughput_ratio", "training throughput (latent / image)", PALETTE[0]),
        ("infer_throughput_ratio", "inference throughput (latent / image)", PALETTE[2]),
        ("memory_ratio", "memory (image / latent)", PALETTE[3]),
    ):
        fig.add_bar(
            x=labels,
            y=comparisons[col],
            name=name,
            marker_color=color,
            text=[f"{v:.2g}x" if pd.notna(v) else "" for v in comparisons[col]],
            textposition="outside",
        )
    for key, dash in (("latent_vs_image.throughput_ratio", "dash"), ("latent_vs_image.memory_ratio", "dot")):
        v = PUBLISHED[key]["value"]
        fig.add_hline(y=v, line_dash=dash)
        # on a log axis an annotation's y is the log10 position
        fig.add_annotation(
            x=1,
            xref="paper",
            xanchor="right",
            y=np.log10(v),
            yanchor="bottom",
            showarrow=False,
            text=f"published {v:g}x ({key.split('.')[1].split('_')[0]})",
        )
    top = np.nanmax(comparisons[["train_throughput_ratio", "infer_throughput_ratio", "memory_ratio"]].to_numpy(float))
    fig.update_yaxes(type="log", range=[-1, np.log10(max(top, 120.0) * 3)])  # log axes take log10 ranges
    fig.update_layout(
        barmode="group",
        yaxis_title="advantage of the latent classifier (x, log)",
        legend_title="ratio (each >1 favours latents)",
        title="Latent vs image classifier: measured vs published",
        margin=dict(b=120),
    )
    return fig


def _arm_colors(arms) -> dict[str, str]:
    """Each arm's registered colour (arms.ARMS); arms without a colour of their own take unused palette ones."""
    default = Arm.__dataclass_fields__["color"].default  # the grey of arms that have no colour of their own
    colors = {name: arm.color for name, arm in ARMS.items() if arm.color != default}
    spare = [c for c in PALETTE if c not in colors.values()]
    others = [a for a in dict.fromkeys(arms) if a not in colors]
    return colors | {a: spare[i % len(spare)] for i, a in enumerate(others)}


def training_curves(training: pd.DataFrame) -> go.Figure:
    """Each classifier's training loss and validation balanced accuracy per epoch (one line per arm, fold and seed,
    colour = arm), the selected (best) epoch starred, not-converged classifiers dashed. training: `Store.training()` rows of
    one run (history: JSON list of {epoch, loss, val_balanced_accuracy})."""
    import json

    from plotly.subplots import make_subplots

    if training.empty:
        return _empty("no training histories stored for this run (runs before latentgap stored them have none)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=["training loss", "validation balanced accuracy"])
    colors = _arm_colors(training.arm)
    shown = set()  # one legend entry per arm; its folds and seeds share it
    for row in training.itertuples():
        h = pd.DataFrame(json.loads(row.history))
        line = dict(color=colors[row.arm], dash="solid" if row.converged else "dash")
        which = f"{row.arm}, fold {row.fold}, seed {row.seed}"
        for col, y in ((1, "loss"), (2, "val_balanced_accuracy")):
            fig.add_scatter(
                x=h.epoch,
                y=h[y],
                mode="lines",
                name=row.arm,
                legendgroup=row.arm,
                showlegend=row.arm not in shown,
                line=line,
                hovertemplate=f"{which}: epoch %{{x}}, %{{y:.3f}}<extra></extra>",
                row=1,
                col=col,
            )
            shown.add(row.arm)
        best = h[h.epoch == row.best_epoch]
        fig.add_scatter(
            x=best.epoch,
            y=best.val_balanced_accuracy,
            mode="markers",
            marker=dict(symbol="star", size=12, color=colors[row.arm]),
            legendgroup=row.arm,
            showlegend=False,
            hovertemplate=f"{which}: selected epoch %{{x}}, %{{y:.3f}}<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="epoch", dtick=max(1, int(training.epochs_run.max()) // 10))  # whole epochs
    fig.update_layout(
        title="Training histories (★ selected epoch; dashed: not converged)",
        legend=dict(title="classifier", orientation="h", yanchor="top", y=-0.22),  # below: room for many arms
        height=480,
    )
    return fig


NO_LEARNING_CURVE = (
    "no learning curve for this run: run with --train-fractions 0.25,0.5,1 or --profile standard "
    "(every arm also trained on nested fractions of the training split)"
)
LEARNING_GAPS = {  # quantity -> (legend, colour, dash)
    "matched_gap": ("matched gap (reconstruction-s2d − latent)", "#333333", "solid"),
    "gap": ("paper gap (reconstruction − latent)", "#8c8c8c", "dot"),
}


def _chance_line(fig: go.Figure, chance: float | None, **where) -> None:
    """The chance level (1 / classes) as a labelled dash-dot line; `where`: the subplot's row and col."""
    if chance is not None:
        fig.add_hline(
            y=chance,
            line_dash="dashdot",
            line_color="#7f7f7f",
            annotation_text=f"chance ({chance:.2g})",
            annotation_position="bottom left",
            **where,
        )


def learning_curves(curve: pd.DataFrame, chance: float | None = None) -> go.Figure:
    """Learning curves of one run: each arm's test balanced accuracy against the training images it saw (log axis),
    and the matched and paper gap against the same axis, each with its interval band (means over the run's
    replicates with their two-level bootstrap intervals). A gap that closes as n grows is sample efficiency, not
    information the autoencoder lost. The arms behind the gaps are drawn; the ablation arms wait in the legend.
    curve: `Store.learning_curve()` rows of one run; chance: 1 / classes."""
    from plotly.subplots import make_subplots

    from latentgap.gaps import MAIN_ARMS

    means = curve[curve.fold.isna()] if not curve.empty else curve  # run-level rows: mean over replicates
    if means.empty:
        return _empty(NO_LEARNING_CURVE)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["test balanced accuracy", "gap"], horizontal_spacing=0.1)
    scores = means[means.quantity == "score"]
    colors = _arm_colors(scores.arm)
    for arm, c in scores.groupby("arm", sort=False):
        c = c.sort_values("n_train")
        shown = True if arm in MAIN_ARMS else "legendonly"  # the ablations: one click on the legend away
        fig.add_trace(_band(c.n_train, c.ci_low, c.ci_high, colors[arm], arm).update(visible=shown), row=1, col=1)
        fig.add_scatter(
            x=c.n_train,
            y=c.value,
            name=arm,
            legendgroup=arm,
            visible=shown,
            mode="lines+markers",
            line_color=colors[arm],
            customdata=100 * c.train_fraction,
            hovertemplate=f"{arm}: %{{x}} training images (%{{customdata:g}} %%), %{{y:.3f}}<extra></extra>",
            row=1,
            col=1,
        )
    for quantity, (label, color, dash) in LEARNING_GAPS.items():
        c = means[means.quantity == quantity].sort_values("n_train")
        if c.empty:
            continue
        fig.add_trace(_band(c.n_train, c.ci_low, c.ci_high, color, label), row=1, col=2)
        fig.add_scatter(
            x=c.n_train,
            y=c.value,
            name=label,
            legendgroup=label,
            mode="lines+markers",
            line=dict(color=color, dash=dash),
            row=1,
            col=2,
        )
    fig.add_hline(y=0, line_color="#7f7f7f", line_dash="dash", row=1, col=2)
    _chance_line(fig, chance, row=1, col=1)
    ticks = sorted(means.n_train.unique())
    fig.update_xaxes(type="log", title_text="training images", tickvals=ticks, ticktext=[str(t) for t in ticks])
    n = int(curve[curve.fold.notna()].groupby(["fold", "seed"]).ngroups)
    fig.update_layout(
        title=f"Learning curves ({n} replicate{'s' * (n != 1)}; bands: 95 % intervals): a gap that closes with more "
        "training images is sample efficiency, not lost information",
        legend=dict(title="classifier", orientation="h", yanchor="top", y=-0.22),
        height=480,
    )
    return fig
