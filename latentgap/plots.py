"""Plotly figure builders: pure functions, records in, figure out (no store access, no I/O)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

SPACE_COLORS = {"image": "#4c72b0", "reconstruction": "#55a868", "latent": "#c44e52"}


def gap_bars(gap: pd.DataFrame, metric: str = "balanced_accuracy") -> go.Figure:
    """Grouped bars of image / reconstruction / latent per (autoencoder, dataset), gap annotated with its CI."""
    fig = go.Figure()
    if gap.empty:
        fig.add_annotation(text="no results yet: run a diagnosis", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")  # fmt: skip
        return fig
    labels = [f"{a}<br>{d}{' (synthetic)' if s else ''}<br>{r[-6:]}"
              for a, d, s, r in zip(gap.autoencoder, gap.dataset, gap.synthetic, gap.run_id)]  # fmt: skip
    for space, color in SPACE_COLORS.items():
        fig.add_bar(name=space, x=labels, y=gap[space], marker_color=color,
                    text=[f"{v:.3f}" for v in gap[space]], textposition="outside")  # fmt: skip
    for x, (_, row) in zip(labels, gap.iterrows()):
        fig.add_annotation(x=x, y=max(row.image, row.reconstruction, row.latent) + 0.08, showarrow=False,
                           text=f"gap {row.gap:+.3f} [{row.gap_ci_low:+.3f}, {row.gap_ci_high:+.3f}]")  # fmt: skip
    fig.update_layout(barmode="group", yaxis_title=metric.replace("_", " "), yaxis_range=[0, 1.15],
                      title="Same classifier recipe on images, reconstructions and latents (test split)",
                      legend_title="space", margin=dict(t=60, b=40))  # fmt: skip
    return fig


CURVE_STYLES = {"latent": "#c44e52", "latent-noise": "#dd8452", "latent-film": "#8172b3", "latent-film-distilled": "#937860"}


def noise_curves(curves: pd.DataFrame, clean: pd.DataFrame, metric: str = "balanced_accuracy") -> go.Figure:
    """Per-noise-level `metric` of each latent classifier (log σ axis), image and reconstruction as reference lines.

    curves: `Store.noise_curves()` rows of one run; clean: that run's clean metrics (space, metric, value).
    """
    fig = go.Figure()
    if curves.empty:
        fig.add_annotation(text="no noise curves stored for this run", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")  # fmt: skip
        return fig
    for space, color in CURVE_STYLES.items():
        c = curves[(curves.space == space) & (curves.metric == metric)]
        if not c.empty:
            fig.add_scatter(x=c.noise_level, y=c.value, name=space, mode="lines+markers", line_color=color)
    for space, dash in (("image", "dash"), ("reconstruction", "dot")):
        v = clean[(clean.space == space) & (clean.metric == metric)].value
        if len(v):
            fig.add_hline(y=float(v.mean()), line_dash=dash, annotation_text=f"{space} (clean)",
                          line_color=SPACE_COLORS[space])  # fmt: skip
    fig.update_layout(xaxis_type="log", xaxis_title="noise level σ (latent std 0.5)", yaxis_title=metric.replace("_", " "),
                      title="Learnability along the diffusion trajectory (test split)", legend_title="classifier")  # fmt: skip
    return fig


CLASS_SPACES = ("image", "reconstruction", "latent", "latent-film-distilled")


def class_accuracy_bars(per_class: pd.DataFrame) -> go.Figure:
    """Per-class test accuracy (recall) in each space; rare classes are why people use generative augmentation.

    per_class: `Store.class_metrics()` rows of one run (space, class_name, support, accuracy), averaged over folds.
    """
    fig = go.Figure()
    if per_class.empty:
        fig.add_annotation(text="no per-class results for this run", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")  # fmt: skip
        return fig
    df = per_class.groupby(["space", "class_index", "class_name"], as_index=False).agg(accuracy=("accuracy", "mean"),
                                                                                      support=("support", "sum"))  # fmt: skip
    colors = {**SPACE_COLORS, "latent-film-distilled": CURVE_STYLES["latent-film-distilled"]}
    for space in CLASS_SPACES:
        d = df[df.space == space].sort_values("class_index")
        if not d.empty:
            fig.add_bar(name=space, x=[f"{c}<br>n={n}" for c, n in zip(d.class_name, d.support)], y=d.accuracy,
                        marker_color=colors[space])  # fmt: skip
    fig.update_layout(barmode="group", yaxis_title="test accuracy of the class (recall)", yaxis_range=[0, 1.05],
                      title="Per-class accuracy by space (n = test images of the class)", legend_title="space")  # fmt: skip
    return fig


def confusion_grid(confusion: pd.DataFrame, class_names: list[str]) -> go.Figure:
    """Row-normalised confusion matrices of image, reconstruction and latent classifiers side by side."""
    from plotly.subplots import make_subplots

    spaces = [s for s in CLASS_SPACES[:3] if s in set(confusion.space)]
    fig = make_subplots(rows=1, cols=max(len(spaces), 1), subplot_titles=spaces, horizontal_spacing=0.08)
    k = len(class_names)
    for i, space in enumerate(spaces, start=1):
        m = confusion[confusion.space == space].groupby(["true_class", "pred_class"])["count"].sum()
        mat = m.unstack(fill_value=0).reindex(index=range(k), columns=range(k), fill_value=0).to_numpy(float)
        norm = mat / mat.sum(axis=1, keepdims=True).clip(min=1)
        fig.add_heatmap(z=norm, x=class_names, y=class_names, zmin=0, zmax=1, colorscale="Blues", showscale=i == 1,
                        text=mat.astype(int), texttemplate="%{text}", hovertemplate="true %{y}<br>predicted %{x}<br>"
                        "share %{z:.2f}<extra></extra>", row=1, col=i)  # fmt: skip
        fig.update_yaxes(autorange="reversed", row=1, col=i)
    fig.update_layout(title="Confusion matrices (rows: true class, normalised; numbers: counts)", height=420)
    return fig
