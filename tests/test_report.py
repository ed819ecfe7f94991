"""The shareable HTML report: a stored smoke run's gap numbers, figures and images in one file that needs no
network; the `report` verb; and the written file opened from disk in a real browser with the network blocked."""

import base64
import html
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from latentgap.errors import LatentgapError
from latentgap.gallery import load_gallery, save_gallery
from latentgap.gaps import FLAG, gap_report
from latentgap.plots import thumbnail_rgb
from latentgap.records import arm_quantity
from latentgap.report import build_report, default_path, write_report
from latentgap.store import Store
from tests.test_cli import cli
from tests.test_store import _run, _v4_store

CONTROL_RUN = "ctl-000001"
IMAGE_SOURCE = '"source":"data:image\\u002fpng;base64,'  # how plotly's JSON writes an image trace's data URI
EXTERNAL = re.compile(r"<(?:script|img|link|iframe|source|video|audio)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//")


def _control_metrics(run_id):
    """A null control whose matched gap's interval excludes 0: it flags the runs read against it."""
    rows = []
    for name, v, lo, hi in (
        ("image", 0.3, 0.25, 0.35),
        ("reconstruction", 0.3, 0.25, 0.35),
        ("latent", 0.25, 0.2, 0.3),
        ("gap", 0.05, 0.0, 0.1),
        ("matched_gap", 0.05, 0.01, 0.09),
    ):
        rows.append(
            dict(
                run_id=run_id, **arm_quantity(name), metric="balanced_accuracy", value=v, ci_low=lo, ci_high=hi, fold=0
            )
        )
    return rows


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The previous release's stored smoke run (its real metrics, training histories, noise curves and UMAPs), a
    gallery of two test samples per class written for it, and a null-control run on the same dataset and profile."""
    home = _v4_store(tmp_path_factory.mktemp("report"))
    store = Store(home)
    run_id = store.runs().run_id.iloc[0]
    names = store.class_names(run_id)
    n = 2 * len(names)
    rng = np.random.default_rng(0)
    images = rng.random((n, 1, 16, 16))
    recons = np.clip(images + rng.normal(0, 0.1, images.shape), 0, 1)
    save_gallery(
        home, run_id, np.arange(n), images, recons, np.arange(n) % len(names), 20 + np.arange(n) / 10, np.full(n, 0.8)
    )
    control = {
        **_run(CONTROL_RUN),
        "autoencoder": "zoo:null-s2d",
        "profile": "smoke",
        "summary": {"class_names": names, "n_images": store.run_spec(run_id)["summary"].get("n_images")},
    }  # the same images: a control is read against runs on the same subsample only
    store.write_run(control, {"metrics": _control_metrics(CONTROL_RUN)})
    return home, run_id


def _figures(page: str) -> int:
    return page.count('class="plotly-graph-div"')


def test_report_of_a_stored_run_holds_its_numbers_figures_and_images_offline(home):
    home, run_id = home
    page = build_report(home, [run_id])
    store = Store(home)
    row = gap_report(store.gap_table(), store.training()).set_index("run_id").loc[run_id]
    # the gap table: numbers as the store's gap report gives them, read against the null control
    for key in ("paper_gap", "matched_gap", "excess_gap"):
        low, high = row[f"{key}_ci_low"], row[f"{key}_ci_high"]
        assert f"{row[key]:+.3f} [{low:+.3f}, {high:+.3f}]" in page, key
    assert "-0.050 [-0.090, -0.010]" in page  # excess = matched 0 [0, 0] − the control's 0.05 [0.01, 0.09]
    assert html.escape(FLAG) in page and CONTROL_RUN in page
    fidelity = store.fidelity().set_index("metric").value
    assert f"PSNR {fidelity['psnr']:.2f} dB, SSIM {fidelity['ssim']:.3f}" in page
    # the run: synthetic data said so, its profile's deviations, spec and versions
    assert "SYNTHETIC data: phantom-chest" in page and "SMOKE TEST, not a measurement" in page
    spec = store.run_spec(run_id)
    assert spec["versions"]["torch"] in page and "&quot;profile_settings&quot;" in page
    # gap bars, reconstruction grid, then noise curves, training curves and UMAPs of the run
    assert _figures(page) == page.count("Plotly.newPlot(") == 5
    for title in ("Learnability along the diffusion trajectory", "Training histories", "UMAP of the same samples"):
        assert title in page
    # plotly.js once, inline; nothing fetched from elsewhere
    assert page.count("* plotly.js v") == 1 and page.count("<script>") == 1 + 5  # the library, then one per figure
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)[:3]
    # the gallery's images as PNG data URIs: 6 classes x 2 samples x (original, reconstruction, |diff|)
    assert page.count(IMAGE_SOURCE) == len(store.class_names(run_id)) * 2 * 3
    first = json.loads('"' + page.split(IMAGE_SOURCE, 1)[1].split('"', 1)[0] + '"')  # JSON escapes its "/"
    from PIL import Image

    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(first))))
    gallery = load_gallery(home, run_id)
    assert np.array_equal(shown, thumbnail_rgb(gallery["image"][0]))  # class 0's first sample, as stored


def test_a_run_with_a_learning_curve_gets_its_figure(learning_home):
    """`--train-fractions`: the report adds the learning-curve figure (a run without one has none: the test above
    counts five figures)."""
    home, run_id, _ = learning_home
    page = build_report(home, [run_id])
    assert page.count("Plotly.newPlot(") == 6 and "test balanced accuracy" in page
    assert "training images" in page  # the learning curve's x axis


def test_the_report_leads_with_the_calibrated_headline(home):
    """Above the gap table: the matched gap named in plain words, the null control's gap beside the excess gap, the
    control's flag and the data's kind, as the Overview's headline says them."""
    home, run_id = home
    top = build_report(home, [run_id]).split("<h2>Gaps</h2>")[0]
    assert '<div class="headline"><h3><code>zoo:' in top and f"run <code>{run_id}</code>" in top
    assert "<b>Matched gap</b> (reconstruction-s2d − latent, same network): <b>+0.000 [+0.000, +0.000]</b>" in top
    assert f"(run <code>{CONTROL_RUN}</code>): matched gap +0.050 [+0.010, +0.090]" in top
    assert "<b>excess gap -0.050 [-0.090, -0.010]</b>" in top
    assert f"⚠ <b>{html.escape(FLAG)}</b>" in top and "<b>SYNTHETIC data</b>" in top


def test_a_comparison_report_and_an_unknown_run(home, tmp_path):
    home, run_id = home
    out = write_report(home, [run_id, CONTROL_RUN, run_id])
    assert out == default_path(home, [run_id, CONTROL_RUN]) and out.name == f"compare-{run_id[-6:]}-000001.html"
    page = out.read_text()
    assert "2 runs compared" in page and "zoo:null-s2d" in page
    # gap bars, noise curves of both, one reconstruction grid (same dataset and seed), 3 per run
    assert _figures(page) == 1 + 1 + 1 + 2 * 3
    assert "no noise curves stored for the selected runs" not in page
    with pytest.raises(LatentgapError, match=r"no run 'nope' in the store .*results --kind gap"):
        write_report(home, [run_id, "nope"])
    with pytest.raises(LatentgapError, match="is a folder"):
        write_report(home, [run_id], tmp_path)
    assert not list(tmp_path.iterdir())


def test_report_verb_writes_the_file_and_refuses_an_unknown_run(home):
    home, run_id = home
    out = cli("report", run_id, "--home", str(home))
    path = home / "reports" / f"{run_id}.html"
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(path) in out.stdout and path.stat().st_size > 4_000_000  # plotly.js inline: ~4.8 MB
    assert run_id in path.read_text()
    bad = cli("report", "nope", "--home", str(home))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        f"error: no run 'nope' in the store under {home}; list run ids with "
        f"`python -m latentgap results --kind gap --home {home}` (or pass the --home that holds it)"
    ]


@pytest.mark.browser
@pytest.mark.slow
def test_the_report_opens_offline_from_disk_in_a_browser(diagnosed_home, tmp_path):
    """A real quick diagnosis's report, opened from disk with the network off: every figure draws, images included."""
    from tests.ui.test_browser import ARTIFACTS, CHROMIUM, FLAGS

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs it with apt-get")
    home, _ = diagnosed_home
    run_id = Store(home).runs().run_id.iloc[0]
    path = write_report(home, [run_id], tmp_path / "report.html")
    written = path.read_text()
    expected, images = _figures(written), written.count(IMAGE_SOURCE)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        fetched = []
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(path.as_uri(), timeout=180_000)
        page.wait_for_function(
            f"document.querySelectorAll('.plotly-graph-div .main-svg').length >= {2 * expected}", timeout=180_000
        )  # plotly draws two svg layers per figure
        assert page.locator(".plotly-graph-div").count() == expected == 5
        drawn = page.locator("g.imagelayer image")
        assert drawn.count() == images >= 3 and drawn.first.get_attribute("href").startswith("data:image/png;base64,")
        assert page.get_by_text("SYNTHETIC data: phantom-chest").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert [u for u in fetched if not u.startswith(("file:", "data:", "blob:"))] == []
