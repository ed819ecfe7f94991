from pathlib import Path

import pytest

from latentgap.tools.bench.dashboard import serve as start_dashboard


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell at teardown whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def failed(request) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


@pytest.fixture
def serve(tmp_path_factory, request):
    """Start `python -m latentgap serve` on a free loopback port for a workspace; yields its URL (the server's
    output goes to a log file, printed when the test fails)."""
    started = []

    def start(home: Path) -> str:
        log = tmp_path_factory.mktemp("serve") / "serve.log"
        proc, url = start_dashboard(home, log, timeout_s=120)
        started.append((proc, log))
        return url

    yield start
    for proc, log in started:
        proc.terminate()
        proc.wait(timeout=30)
        if failed(request):
            print(f"--- dashboard log {log} (last 4000 characters) ---\n{log.read_text(errors='replace')[-4000:]}")
