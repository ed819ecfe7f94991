"""Click through the dashboard in a real headless Chromium (Debian's, driven by Playwright) and screenshot it."""

import re
import shutil
from pathlib import Path

import pytest

from tests.ui.conftest import failed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(request, serve):
    """A Chromium page (closed before the servers it visits); on failure its screenshot and console are kept."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs it with apt-get")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1100})
        console = []
        pg.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))

        def request_failed(req):
            if "queue/data" not in req.url:  # not the event streams that each 2 s job-list tick opens and closes
                console.append(f"request failed: {req.method} {req.url} {req.failure}")

        pg.on("requestfailed", request_failed)
        yield pg
        if failed(request):
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"failed-{request.node.name}.png"
            pg.screenshot(path=str(shot), full_page=True)
            print(f"--- {shot}; browser console (last 40 lines) ---", *console[-40:], sep="\n")
        browser.close()


def test_overview_and_noise_curves_render_a_real_diagnosis(page, serve, diagnosed_home):
    home, _ = diagnosed_home
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(serve(home))  # not "networkidle": the refresh timer ticks every 2 s
    table = page.locator("table").first
    table.wait_for(timeout=60_000)
    # the run's row in the gap table
    page.get_by_text("zoo:sd-vae-mini").filter(visible=True).first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    headers = page.locator("table th").all_inner_texts()
    assert any("gap" in h for h in headers) and any("latent" in h for h in headers)
    # the tab leads with the calibrated headline: which gap, its interval, the data's kind, the missing control
    headline = page.locator("#headline")
    headline.get_by_text("Matched gap").first.wait_for(timeout=60_000)
    text = headline.inner_text()
    assert "reconstruction-s2d − latent, same network" in text and "SYNTHETIC data" in text
    assert "python -m latentgap diagnose --ae zoo:null-s2d --dataset phantom-chest --profile quick" in text
    assert headline.bounding_box()["y"] < page.locator("table").first.bounding_box()["y"]  # above the table
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)  # scripts/screenshots.sh: docs/screenshots

    page.get_by_role("tab", name="Noise curves").click()
    page.get_by_text("Learnability along the diffusion trajectory").wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 4  # four latent classifiers
    page.screenshot(path=str(ARTIFACTS / "noise-curves.png"), full_page=True)

    page.get_by_role("tab", name="Latent explorer").click()
    page.get_by_text("UMAP of the same samples, coloured by class").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .gl-container canvas").first.wait_for(state="attached", timeout=60_000)  # WebGL
    page.screenshot(path=str(ARTIFACTS / "latent-explorer.png"), full_page=True)

    page.get_by_role("tab", name="Reconstructions").click()
    page.get_by_text("test samples; per sample: original").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.pending').length === 0", timeout=60_000)
    gallery = page.locator("#reconstructions-gallery")
    assert gallery.get_by_text(" dB / ").count() >= 4  # per-image PSNR / SSIM captions
    assert page.get_by_text("intensity in [0, 1]").filter(visible=True).count() == 1  # the error scale's units
    page.screenshot(path=str(ARTIFACTS / "reconstructions.png"), full_page=True)
    gallery.locator(".thumbnail-item").first.click()  # click to enlarge
    gallery.locator("[data-testid=detailed-image]").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "reconstructions-enlarged.png"))
    page.keyboard.press("Escape")

    page.get_by_role("tab", name="Compare").click()
    page.get_by_text("1 runs compared").filter(visible=True).first.wait_for(timeout=60_000)
    page.get_by_text("per autoencoder").filter(visible=True).first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.pending').length === 0", timeout=60_000)  # figures drawn
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    page.get_by_role("tab", name="Efficiency").click()
    page.get_by_text("python -m latentgap bench").filter(visible=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "efficiency.png"), full_page=True)


def test_upload_a_checkpoint_and_diagnose_it_in_the_browser(page, serve, tmp_path):
    """Diagnose tab: the file input, family detection, a queued smoke diagnosis, the job list, the gap table."""
    from safetensors.torch import save_file

    from tests.autoencoders.conftest import tiny_model, to_ldm_layout

    ARTIFACTS.mkdir(exist_ok=True)
    ckpt = tmp_path / "uploaded-vae.safetensors"
    save_file({k: v.contiguous() for k, v in to_ldm_layout(tiny_model("sd-vae").state_dict()).items()}, str(ckpt))
    page.goto(serve(tmp_path / "home"))  # not "networkidle": the refresh timer ticks every 2 s
    page.get_by_role("tab", name="Diagnose").click()
    # as a user does: click the drop zone and pick the file; the chooser opens only once the component is live
    with page.expect_file_chooser(timeout=60_000) as chooser:
        page.locator("#checkpoint-upload").get_by_text("Click to Upload").click()
    chooser.value.set_files(str(ckpt))
    # the uploaded file's row: its cell is labelled with the whole name (the text itself is split into stem and
    # extension spans), and the download link appears once the upload has finished
    uploaded = page.locator("#checkpoint-upload")
    uploaded.get_by_label("uploaded-vae.safetensors").wait_for(timeout=180_000)
    uploaded.locator('a[download="uploaded-vae.safetensors"]').wait_for(timeout=180_000)
    page.get_by_role("button", name="Detect family").click()
    page.get_by_text("sdxl-vae").filter(visible=True).first.wait_for(timeout=60_000)  # detection lists the alternative
    page.get_by_label("smoke").check()
    page.get_by_role("button", name="Diagnose", exact=True).click()
    page.get_by_text("queued 1 job").wait_for(timeout=60_000)
    page.get_by_text("done", exact=True).filter(visible=True).first.wait_for(timeout=600_000)  # live job list
    page.locator("#jobs [data-testid=cell-0-0]").click()  # clicking a job fills its id for Cancel / Retry
    page.wait_for_function("document.querySelector('#job-id textarea, #job-id input').value.length > 0", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "diagnose.png"), full_page=True)
    page.get_by_role("tab", name="Overview").click()
    page.get_by_role("button", name="Refresh").click()
    page.get_by_text("upload:uploaded-vae.safetensors").filter(visible=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "overview-after-upload.png"), full_page=True)


def test_cancel_frees_the_worker_and_a_finished_job_shows_without_a_reload(page, serve, tmp_path):
    """A long job is cancelled while it trains: the queued job behind it starts within 10 s. When that one finishes,
    the open page's Overview, run picker and Compare list show its run without a reload or a click on Refresh."""
    import time

    from latentgap.jobs import queue_diagnosis
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    ARTIFACTS.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir()
    store = Store(home)
    spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="quick", max_samples=300, device="cpu")
    long_job, _ = queue_diagnosis(store, spec, "long quick job")
    short_job, _ = queue_diagnosis(store, DiagnosisSpec(**{**spec.__dict__, "profile": "smoke"}), "short smoke job")
    page.goto(serve(home))  # not "networkidle": the job list's ticks keep the network busy while a job runs
    page.get_by_role("tab", name="Diagnose").click()
    summary = page.locator("#jobs-summary")
    summary.get_by_text(re.compile(r"train image \(seed \d+, fold \d+\) · epoch")).wait_for(timeout=600_000)
    summary.get_by_text("left (at most").wait_for(timeout=120_000)  # the time left, once the pace is known
    page.get_by_text("waits behind long quick job (running)").filter(visible=True).first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "jobs-running.png"), full_page=True)

    page.locator("#job-id textarea, #job-id input").first.fill(long_job)
    page.get_by_role("button", name="Cancel", exact=True).click()
    cancelled = time.monotonic()
    page.get_by_text(f"cancelled {long_job}").wait_for(timeout=10_000)
    while store.job_status(short_job) == "queued" and time.monotonic() - cancelled < 30:
        time.sleep(0.2)
    freed_after = time.monotonic() - cancelled
    print(f"the next job started {freed_after:.1f} s after Cancel")
    assert store.job_status(short_job) in ("running", "done") and freed_after < 10, freed_after
    summary.get_by_text("Running: short smoke job").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "jobs-after-cancel.png"), full_page=True)

    page.get_by_role("tab", name="Overview").click()
    deadline = time.monotonic() + 600
    while (status := store.job_status(short_job)) != "done" and time.monotonic() < deadline:
        assert status == "running", store.jobs().error.tolist()
        time.sleep(1)
    run_id = store.jobs().set_index("job_id").loc[short_job, "run_id"]
    page.get_by_text(run_id).filter(visible=True).first.wait_for(timeout=30_000)  # the gap table, no Refresh click
    page.screenshot(path=str(ARTIFACTS / "overview-after-job.png"), full_page=True)
    page.get_by_role("tab", name="Noise curves").click()
    page.wait_for_function(
        f"document.querySelector('#noise-run input').value.includes('{run_id}')", timeout=30_000
    )  # the run picker lists and shows the new run
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-autoencoders").get_by_text("zoo:sd-vae-mini").first.wait_for(timeout=30_000)
    page.get_by_text("1 runs compared").filter(visible=True).first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "compare-after-job.png"), full_page=True)
    assert store.job_status(long_job) == "cancelled" and store.runs().run_id.tolist() == [run_id]


# --- Latent explorer: one dashboard and page shared by its tests (the diagnosis above, already built) ---------------
PLOT = "#explorer-plot .lg-plot"
POINT = """([trace, j]) => {  // page pixel of point j of a trace, with its sample position (customdata)
  const gd = document.querySelector('#explorer-plot .lg-plot'), t = gd._fullData[trace];
  const xa = gd._fullLayout['xaxis' + t.xaxis.slice(1)], ya = gd._fullLayout['yaxis' + t.yaxis.slice(1)];
  const r = gd.getBoundingClientRect();
  return [r.left + xa._offset + xa.l2p(t.x[j]), r.top + ya._offset + ya.l2p(t.y[j]), t.customdata[j]];
}"""
IN_BOX = """([x0, y0, x1, y1]) => {  // positions of the first panel's points inside a page-pixel box
  const gd = document.querySelector('#explorer-plot .lg-plot'), r = gd.getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, inside = [];
  gd._fullData.filter((t) => t.xaxis === 'x').forEach((t) => {
    for (let j = 0; j < t.x.length; j++) {
      const px = r.left + xa._offset + xa.l2p(t.x[j]), py = r.top + ya._offset + ya.l2p(t.y[j]);
      if (px > x0 && px < x1 && py > y0 && py < y1) inside.push(t.customdata[j]);
    }
  });
  return inside;
}"""
SELECTED_BOX = """() => {  // positions of the first panel's points inside the box plotly kept (data coordinates)
  const gd = document.querySelector('#explorer-plot .lg-plot'), box = gd._fullLayout.selections[0], inside = [];
  const [xl, xh] = [Math.min(box.x0, box.x1), Math.max(box.x0, box.x1)];
  const [yl, yh] = [Math.min(box.y0, box.y1), Math.max(box.y0, box.y1)];
  gd._fullData.filter((t) => t.xaxis === 'x').forEach((t) => {
    for (let j = 0; j < t.x.length; j++)
      if (t.x[j] >= xl && t.x[j] <= xh && t.y[j] >= yl && t.y[j] <= yh) inside.push(t.customdata[j]);
  });
  return inside;
}"""


@pytest.fixture(scope="module")
def explorer_session(diagnosed_home, tmp_path_factory):
    """The dashboard on the diagnosed workspace and one Chromium page on its Latent explorer tab."""
    playwright = pytest.importorskip("playwright.sync_api")
    from latentgap.tools.bench.dashboard import serve as start_dashboard

    home, _ = diagnosed_home
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc, url = start_dashboard(home, log, timeout_s=120)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)  # not "networkidle": the refresh timer ticks every 2 s
            page.get_by_text("zoo:sd-vae-mini").filter(visible=True).first.wait_for(timeout=60_000)  # runs listed
            page.get_by_role("tab", name="Latent explorer").click()
            page.wait_for_selector(f"{PLOT}[data-rendered]", timeout=120_000)
            yield page, log
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def explorer(explorer_session, request):
    page, log = explorer_session
    yield page
    if failed(request):
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True)
        print(f"--- dashboard log (last 3000 characters) ---\n{log.read_text(errors='replace')[-3000:]}")


def _choose_colour(page, name: str) -> list[str]:
    """Pick a 'colour by' entry and wait for the redrawn figure; its trace names."""
    before = int(page.get_attribute(PLOT, "data-rendered"))
    page.get_by_label("colour by").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function(f"Number(document.querySelector('{PLOT}').dataset.rendered) > {before}", timeout=60_000)
    return page.evaluate(f"document.querySelector('{PLOT}')._fullData.map(t => t.name)")


def _sample_numbers(page, positions) -> list[int]:
    return page.evaluate(
        """(ps) => { const gd = document.querySelector('#explorer-plot .lg-plot');
                     return ps.map((p) => gd.sampleAt(p)); }""",
        list(positions),
    )


def test_explorer_hover_shows_the_points_thumbnail(explorer):
    names = explorer.evaluate(f"document.querySelector('{PLOT}')._fullData.map(t => t.name)")
    x, y, pos = explorer.evaluate(POINT, [len(names) - 1, 0])  # a test-split point: the last trace is on top
    explorer.mouse.move(x, y)
    card = explorer.locator("#explorer-plot .lg-card")
    card.wait_for(state="visible", timeout=30_000)
    sample = int(card.get_attribute("data-sample"))
    assert sample == _sample_numbers(explorer, [pos])[0]
    image = card.locator("img.lg-thumb-image")
    assert image.get_attribute("src").endswith(f"/{sample}-image.webp")
    explorer.wait_for_function(
        "document.querySelector('#explorer-plot .lg-card img.lg-thumb-image').naturalWidth > 0", timeout=30_000
    )  # the stored thumbnail was served
    assert card.locator("img.lg-thumb-reconstruction").count() == 1 and card.locator("img.lg-thumb-error").count() == 1
    assert f"sample {sample}" in card.inner_text() and "latent:" in card.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    explorer.screenshot(path=str(ARTIFACTS / "latent-explorer-hover.png"))
    explorer.mouse.move(5, 5)


def test_box_selection_fills_the_gallery_with_exactly_the_selected_samples(explorer):
    x0, y0, w, h = explorer.evaluate(
        f"""() => {{ const gd = document.querySelector('{PLOT}'), r = gd.getBoundingClientRect();
                    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                    return [r.left + xa._offset, r.top + ya._offset, xa._length, ya._length]; }}"""
    )
    cx, cy, _ = explorer.evaluate(POINT, [0, 0])  # a box around some point of the latent panel, small enough that
    for half in (0.12, 0.08, 0.05, 0.03):  # the gallery (24 samples at most) shows every selected sample
        box = [max(x0, cx - half * w), max(y0, cy - half * h), min(x0 + w, cx + half * w), min(y0 + h, cy + half * h)]
        inside = explorer.evaluate(IN_BOX, box)
        if len(inside) <= 20:
            break
    assert inside
    explorer.mouse.move(box[0] + 1, box[1] + 1)
    explorer.mouse.down()
    explorer.mouse.move((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, steps=6)
    explorer.mouse.move(box[2] - 1, box[3] - 1, steps=6)
    explorer.mouse.up()
    expected = sorted(_sample_numbers(explorer, explorer.evaluate(SELECTED_BOX)))
    explorer.wait_for_function(
        f"document.querySelector('#explorer-caption').innerText.trim().startsWith('{len(expected)} samples selected')",
        timeout=60_000,
    )
    explorer.wait_for_function("document.querySelectorAll('.pending').length === 0", timeout=60_000)
    selected = sorted(int(v) for v in explorer.input_value("#explorer-selected textarea").split())
    assert selected == expected
    captions = explorer.locator("#explorer-gallery .caption-label").all_inner_texts()
    assert sorted({int(c.split()[0][1:]) for c in captions}) == expected  # "#12 ..." tiles, 4 a sample
    assert len(captions) == 4 * len(expected)
    linked = explorer.evaluate(  # the same samples are selected in the image-feature panel
        f"""() => {{ const gd = document.querySelector('{PLOT}'), out = [];
                    gd._fullData.filter((t) => t.xaxis === 'x2').forEach((t) =>
                      (t.selectedpoints || []).forEach((j) => out.push(t.customdata[j])));
                    return out; }}"""
    )
    assert sorted(_sample_numbers(explorer, linked)) == expected
    explorer.mouse.move(5, 5)  # no hover card over the selection
    explorer.screenshot(path=str(ARTIFACTS / "latent-explorer-selection.png"), full_page=True)


def test_colour_by_switches_and_train_points_can_be_hidden(explorer):
    names = _choose_colour(explorer, "correct: latent")
    assert set(names) == {"not in test split", "correct", "wrong"}
    colours = explorer.evaluate(f"document.querySelector('{PLOT}')._fullData.map(t => t.marker.color)")
    assert dict(zip(names, colours))["wrong"] == "#e4572e"  # red-orange, never green
    assert names.index("not in test split") < names.index("wrong")  # drawn under the test split
    assert {"train", "val", "test"} <= set(_choose_colour(explorer, "split"))
    before = int(explorer.get_attribute(PLOT, "data-rendered"))
    explorer.get_by_label("show train / val points").uncheck()
    explorer.wait_for_function(f"Number(document.querySelector('{PLOT}').dataset.rendered) > {before}", timeout=60_000)
    assert set(explorer.evaluate(f"document.querySelector('{PLOT}')._fullData.map(t => t.name)")) == {"test"}
    explorer.get_by_label("show train / val points").check()
