"""Click through the dashboard in a real headless Chromium (Debian's, driven by Playwright) and screenshot it."""

import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
def page():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs it with apt-get")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1100})
        yield pg
        browser.close()


def test_overview_and_noise_curves_render_a_real_diagnosis(page, serve, diagnosed_home):
    home, _ = diagnosed_home
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(serve(home), wait_until="networkidle")
    table = page.locator("table").first
    table.wait_for(timeout=60_000)
    page.get_by_text("zoo:sd-vae-mini").filter(visible=True).first.wait_for(timeout=60_000)  # the run's row in the gap table
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    headers = page.locator("table th").all_inner_texts()
    assert any("gap" in h for h in headers) and any("latent" in h for h in headers)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    page.get_by_role("tab", name="Noise curves").click()
    page.get_by_text("Learnability along the diffusion trajectory").wait_for(timeout=60_000)
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 4  # four latent classifiers
    page.screenshot(path=str(ARTIFACTS / "noise-curves.png"), full_page=True)
