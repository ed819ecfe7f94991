"""Dashboard in a real browser: time to an interactive first page with 100 stored runs, the Latent explorer drawing
20,000 points, and the server time of every tab's handler.

Headless Debian chromium driven by Playwright (skipped, with the reason, when either is missing). The store is the
store section's SYNTHETIC generator at 100 runs; the newest run carries the explorer's 20,000 projected points.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

N_RUNS, N_POINTS = 100, 20_000
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None if shutil.which("chromium") else "Debian's chromium is not installed (scripts/test.sh installs it)"


def server_times(home: Path, run_id: str, reps: int) -> dict:
    """Median handler time of each tab, in-process: what a tab switch or a control change costs the server."""
    from latentgap.tools.bench.measure import repeat, summarize
    from latentgap.ui.classes import classes_view
    from latentgap.ui.compare import compare_view
    from latentgap.ui.efficiency import efficiency_view
    from latentgap.ui.explorer import explorer_view, preset_samples, selection_view
    from latentgap.ui.noise import noise_view, run_choices
    from latentgap.ui.overview import gap_view
    from latentgap.ui.reconstructions import reconstructions_view

    handlers = {
        "overview": lambda: gap_view(home, "balanced_accuracy"),
        "run list": lambda: run_choices(home),
        "noise curves": lambda: noise_view(home, run_id, "balanced_accuracy"),
        "classes": lambda: classes_view(home, run_id),
        "latent explorer (20k points)": lambda: explorer_view(home, run_id, "class"),
        "explorer selection (all test samples)": lambda: selection_view(
            home, run_id, preset_samples(home, run_id, "all test samples")
        ),
        "reconstructions": lambda: reconstructions_view(home, run_id, None, 2),
        "compare (2 AEs)": lambda: compare_view(
            home,
            ["bench-synthetic-ae-19", "bench-synthetic-ae-18"],
            "bench-synthetic-3",
            "paper",
            4,
            "balanced_accuracy",
        ),
        "efficiency": lambda: efficiency_view(),
    }
    return {name: summarize(repeat(fn, reps, warmup=1), "s") for name, fn in handlers.items()}


def browser_times(url: str, reps: int) -> dict:
    """Seconds from navigation to the Overview's gap table showing a run, and from clicking the Latent explorer
    tab to its WebGL canvas drawn with no component still pending."""
    from playwright.sync_api import sync_playwright

    from latentgap.tools.bench.measure import summarize

    first, explorer = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=FLAGS)
        for _ in range(reps):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url)
            page.get_by_text("bench-synthetic-ae").filter(visible=True).first.wait_for(timeout=120_000)
            first.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            page.get_by_role("tab", name="Latent explorer").click()
            page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(state="attached", timeout=120_000)
            page.wait_for_function("document.querySelectorAll('.pending').length === 0", timeout=120_000)
            explorer.append(time.perf_counter() - t0)
            page.close()
        browser.close()
    return dict(first_page_interactive=summarize(first, "s"), explorer_20k_points_drawn=summarize(explorer, "s"))


def run(workdir: Path, quick: bool) -> dict:
    from latentgap.tools.bench.dashboard import serve
    from latentgap.tools.bench.store import metric_template, populate

    home = Path(workdir) / "page-home"
    home.mkdir(parents=True, exist_ok=True)
    written = populate(home, n_metric_rows=N_RUNS * len(metric_template()), n_projection_points=2 * N_POINTS)
    reps = 3 if quick else 10
    out = dict(runs=written["runs"], explorer_points=N_POINTS, server=server_times(home, written["newest_run"], reps))
    out["server_over_300ms"] = [n for n, f in out["server"].items() if f["median"] >= 0.3]
    missing = _browser_missing()
    if missing:
        out["browser_skipped"] = missing
        return out
    proc, url = serve(home, Path(workdir) / "page-serve.log")
    try:
        out["browser"] = browser_times(url, reps)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out
