"""Files the dashboard serves as they are, and the colour bars that label stored images.

The Latent explorer draws with the plotly.js bundled in the plotly package (its own WebGL plot, so it can show
thumbnails on hover and link selections) and both it and the Reconstructions tab show the runs' stored
thumbnails (`thumbnails.py`): Gradio serves these files directly, behind the dashboard's login like every route.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import quote

from latentgap.workspace import Workspace


def plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def serve_media(home: Path) -> None:
    """Let Gradio serve plotly.js and the workspace's thumbnails (nothing else of the workspace)."""
    import gradio as gr

    gr.set_static_paths([plotly_js(), Workspace(Path(home)).thumbnail_root])


def file_url(path: Path) -> str:
    """The page-relative URL Gradio serves a static file at (relative, so a dashboard behind a path prefix works)."""
    return "gradio_api/file=" + quote(str(Path(path).resolve()))


def colorbar_html(colorscale: str, low: float, high: float, title: str, ticks: int = 5, width_px: int = 260) -> str:
    """A horizontal colour bar with tick labels and a title naming the units: the legend of stored colour maps."""
    from latentgap.thumbnails import colour_lut

    lut = colour_lut(colorscale)
    stops = ", ".join(
        f"rgb({r},{g},{b}) {10 * i}%" for i, (r, g, b) in enumerate(lut[[round(25.5 * k) for k in range(11)]])
    )
    labels = "".join(
        f'<span style="position:absolute;left:{100 * k / (ticks - 1):.0f}%;transform:translateX(-50%)">'
        f"{low + (high - low) * k / (ticks - 1):.3g}</span>"
        for k in range(ticks)
    )
    return (
        f'<div class="lg-colorbar" style="display:inline-block;margin:4px 24px 4px 8px;font-size:12px">'
        f'<div style="margin-bottom:2px">{escape(title)}</div>'
        f'<div style="width:{width_px}px;height:12px;border:1px solid #999;'
        f'background:linear-gradient(to right, {stops})"></div>'
        f'<div style="position:relative;width:{width_px}px;height:16px">{labels}</div></div>'
    )
