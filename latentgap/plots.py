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
