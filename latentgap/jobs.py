"""The dashboard's job runner: a queue in the store, worked by a separate process.

The app submits `DiagnosisSpec`s as jobs and polls their status; a worker process (`python -m latentgap worker`)
claims them one at a time and runs the same `diagnose()` as the CLI, reporting each step. Heavy work never runs
inside the app, so a crash or out-of-memory kills the worker, not the dashboard: the app restarts the worker and
puts the interrupted job back in the queue (`Store.recover_jobs`). A cancelled job stops at its next step;
`diagnose()` writes a run in one transaction at its end, so an interrupted job leaves no half-written results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

from latentgap.errors import LatentgapError
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store
from latentgap.workspace import Workspace


class JobCancelled(Exception):
    """Raised inside a running job when the user cancelled it."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return True  # no /proc (macOS): trust os.kill


def spec_from_dict(d: dict) -> DiagnosisSpec:
    known = {f.name for f in fields(DiagnosisSpec)}
    return DiagnosisSpec(**{k: v for k, v in d.items() if k in known})


def step_names(spec: DiagnosisSpec) -> list[str]:
    """The steps `diagnose()` reports, in order, for progress fractions (diagnose.steps owns the list)."""
    from latentgap.diagnose import steps

    return steps(spec)


def public_message(message: str, home: Path) -> str:
    """A job's error as dashboard users see it: the workspace's location reads `<workspace>` (no server paths)."""
    for folder in sorted({str(Path(home).resolve()), str(Path(home))}, key=len, reverse=True):
        message = message.replace(folder, "<workspace>")
    return message


def run_job(store: Store, job_id: str, spec: DiagnosisSpec, home: Path) -> None:
    """Run one claimed job to the end: done with its run id, failed with a readable reason, or cancelled."""
    from latentgap.diagnose import diagnose

    names = step_names(spec)

    def on_step(name: str, _frac: float) -> None:
        if store.job_status(job_id) == "cancelled":
            raise JobCancelled
        done = names.index(name) if name in names else 0
        store.update_job(job_id, step=name, progress=done / (len(names) - 1))

    try:
        run_id = diagnose(spec, home, on_step=on_step)
    except JobCancelled:
        return
    except LatentgapError as e:
        store.update_job(job_id, status="failed", error=public_message(str(e), home), step="failed")
        return
    except Exception as e:  # any other crash of a job is reported on its row; the worker lives on
        error = public_message(f"internal error ({type(e).__name__}: {str(e)[:200]})", home)
        store.update_job(job_id, status="failed", error=error, step="failed")
        return
    store.update_job(job_id, status="done", run_id=run_id, progress=1.0, step="done")


def work(
    home: Path,
    parent_pid: int | None = None,
    poll_s: float = 1.0,
    max_jobs: int | None = None,
    idle_exit_s: float | None = None,
) -> int:
    """Worker loop: claim and run jobs until the parent (the app) exits, `max_jobs` ran, or the queue stayed empty
    for `idle_exit_s`. Returns the number of jobs run."""
    store, ran, idle_since = Store(home), 0, time.monotonic()
    while max_jobs is None or ran < max_jobs:
        if parent_pid is not None and not pid_alive(parent_pid):
            break
        claimed = store.claim_job(os.getpid())
        if claimed is None:
            if idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                break
            time.sleep(poll_s)
            continue
        job_id, spec = claimed
        try:
            run_job(store, job_id, spec_from_dict(spec), home)
        except LatentgapError as e:  # e.g. a spec written by another version that no longer validates
            store.update_job(job_id, status="failed", error=public_message(str(e), home), step="failed")
        ran, idle_since = ran + 1, time.monotonic()
    return ran


class WorkerSupervisor:
    """Keeps one worker process alive beside the app and requeues jobs a dead worker left behind."""

    def __init__(self, home: Path):
        self.home, self.proc = Path(home), None

    def ensure_running(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        Store(self.home).recover_jobs(pid_alive)
        log = open(Workspace(self.home).worker_log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "latentgap", "worker", "--home", str(self.home), "--parent-pid", str(os.getpid())],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
