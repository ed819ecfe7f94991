"""Reliability self-check: inject faults and feed hostile input against a temporary workspace, count what held.

`python -m latentgap selfcheck [--json]` runs every scenario; `tests/reliability/` calls the same functions, so
the command and the tests cannot drift apart. A scenario takes an empty folder and returns an `Outcome`: faults
injected and survived (the store consistent, every finished result intact), or inputs tried and handled correctly
(hostile ones refused with a LatentgapError, unusual but valid ones read correctly). Processes that must die (the
worker, the app, writers on a full disk) are real child processes, killed for real.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from latentgap.tools.selfcheck import faults, inputs
from latentgap.tools.selfcheck.common import Outcome

SCENARIOS: dict[str, Callable[[Path], Outcome]] = {**faults.SCENARIOS, **inputs.SCENARIOS}


def run_scenario(key: str, home: Path) -> Outcome:
    """One scenario in its own empty folder; a scenario that crashes is a failed outcome, not a crash."""
    t0 = time.perf_counter()
    home.mkdir(parents=True, exist_ok=True)
    try:
        out = SCENARIOS[key](home)
    except Exception as e:  # noqa: BLE001 (reported as the scenario's failure)
        out = Outcome(key, "fault" if key in faults.SCENARIOS else "input")
        out.check(False, f"the scenario itself crashed: {type(e).__name__}: {str(e)[:300]}")
    out.seconds = round(time.perf_counter() - t0, 1)
    return out


def selfcheck(keys: list[str] | None = None, on_done: Callable[[Outcome], None] | None = None) -> dict:
    """Run the scenarios (default: all) in a temporary workspace and return the report (`selfcheck --json`)."""
    t0, outcomes = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix="latentgap-selfcheck-") as tmp:
        for key in keys or list(SCENARIOS):
            outcomes.append(run_scenario(key, Path(tmp) / key))
            if on_done:
                on_done(outcomes[-1])
    ran = [o for o in outcomes if not o.skipped]
    hit, fed = [o for o in ran if o.kind == "fault"], [o for o in ran if o.kind == "input"]
    report = dict(
        faults_injected=sum(o.tried for o in hit),
        faults_survived=sum(o.handled for o in hit),
        inputs_tried=sum(o.tried for o in fed),
        inputs_refused_correctly=sum(o.refused for o in fed),
        inputs_read_correctly=sum(o.handled - o.refused for o in fed),
        results_lost=sum(o.lost for o in outcomes),
        scenarios_failed=sum(not o.passed for o in ran),
        scenarios_skipped=sum(bool(o.skipped) for o in outcomes),
        seconds=round(time.perf_counter() - t0, 1),
        scenarios=[asdict(o) for o in outcomes],
    )
    report["passed"] = report["scenarios_failed"] == 0 and report["results_lost"] == 0
    return report
