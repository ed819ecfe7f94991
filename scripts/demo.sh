#!/usr/bin/env bash
# One command for a new user: create .venv, install, serve the dashboard on http://127.0.0.1:7860 at once, and queue
# the embedded default diagnosis (quick profile, CPU-sized) as a job the dashboard runs and shows while you watch.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 LATENTGAP_HOME="${LATENTGAP_HOME:-$PWD/workspace}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
# extra arguments go to `diagnose` (e.g. --seed 1); an identical job already queued or running is not queued twice
job=$(.venv/bin/python -m latentgap diagnose --queue --profile quick "$@")
cat <<MSG

  Dashboard: http://127.0.0.1:${LATENTGAP_PORT:-7860}  (up in a few seconds; Ctrl-C stops it)
  The diagnosis runs as dashboard job $job. On a free 2-core CPU it takes about 4 minutes
  (much longer on a busy machine); the Diagnose tab shows its step, elapsed time and time left,
  and the Overview fills in by itself when it is done. Results stay in $LATENTGAP_HOME.

MSG
exec .venv/bin/python -m latentgap serve --host 127.0.0.1  # port: $LATENTGAP_PORT, else 7860
