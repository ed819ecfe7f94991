#!/usr/bin/env bash
# One command for the tests: create .venv, install runtime + test dependencies, run the whole suite.
# Extra arguments go to pytest (e.g. -m "not slow" to skip the end-to-end runs locally).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
set +e
.venv/bin/python -m pytest -q "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi
exit "$code"
