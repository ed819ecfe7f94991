from pathlib import Path

import pytest

from latentgap.bench.dashboard import serve as start_dashboard


@pytest.fixture
def serve(tmp_path_factory):
    """Start `python -m latentgap serve` on a free loopback port for a workspace; yields its URL (the server's
    output goes to a log file, quoted if it exits before accepting connections)."""
    procs = []

    def start(home: Path) -> str:
        proc, url = start_dashboard(home, tmp_path_factory.mktemp("serve") / "serve.log", timeout_s=120)
        procs.append(proc)
        return url

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=30)
