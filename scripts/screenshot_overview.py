"""Screenshot a workspace's Overview (the calibrated headline and gap table) in headless Chromium, for the README.

Usage: python scripts/screenshot_overview.py HOME OUT.png [--width 1400]
Serves the dashboard on a free loopback port (as the browser tests do), opens it in Debian's chromium through
Playwright and saves a full-page screenshot of the Overview tab.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentgap.tools.bench.dashboard import serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    log = Path(tempfile.mkdtemp()) / "serve.log"
    proc, url = serve(args.home, log, timeout_s=120)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"))
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            page.goto(url)
            page.locator("#headline").get_by_text("Matched gap").first.wait_for(timeout=120_000)
            page.locator("table").first.wait_for(timeout=60_000)
            page.wait_for_timeout(2_000)  # the bar chart draws after its data arrives
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
