#!/usr/bin/env bash
# Rerun the browser tests (a real quick diagnosis, then every tab and its HTML report in headless Chromium) and copy
# the screenshots they take into docs/screenshots/ for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest -q tests/ui/test_browser.py tests/test_report.py -m browser
mkdir -p docs/screenshots
for name in overview latent-explorer latent-explorer-hover latent-explorer-selection reconstructions \
  reconstructions-enlarged noise-curves compare efficiency diagnose report; do
  cp "test-artifacts/$name.png" docs/screenshots/
done
ls -l docs/screenshots
