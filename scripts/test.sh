#!/usr/bin/env bash
# One command for the tests: create .venv, install runtime + test dependencies (and Debian's chromium for
# the browser tests, when missing), run the whole suite. Extra arguments go to pytest, e.g.
# -m "not slow" to skip the end-to-end and browser runs locally.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# known vulnerabilities in the pinned runtime dependencies fail the run (a warning if the service is unreachable)
.venv/bin/python scripts/audit_deps.py
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests (apt-get)" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
    || echo "could not install chromium: the browser tests will fail with a message saying so" >&2
fi
# pytest-xdist: one worker per core (at most 4), each running torch on one thread; a file's tests share a worker,
# so module fixtures are built once. LATENTGAP_TEST_WORKERS=0 runs in this process, e.g. for a debugger.
workers=${LATENTGAP_TEST_WORKERS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}
set +e
.venv/bin/python -m pytest -q -n "$workers" --dist loadfile "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then echo "pytest collected no tests: failing on purpose" >&2; exit 1; fi
exit "$code"
