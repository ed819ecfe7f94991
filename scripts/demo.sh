#!/usr/bin/env bash
# One command for a new user: create .venv, install, diagnose the embedded default autoencoder on the
# embedded default benchmark (quick profile, CPU-sized), then serve the dashboard on http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 LATENTGAP_HOME="${LATENTGAP_HOME:-$PWD/workspace}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/python -m latentgap diagnose --profile quick "$@"
exec .venv/bin/python -m latentgap serve --host 127.0.0.1  # port: $LATENTGAP_PORT, else 7860
