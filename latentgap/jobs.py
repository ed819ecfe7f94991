"""The dashboard's job runner: a queue in the store, worked by a separate process.

The app submits `DiagnosisSpec`s as jobs and polls their status; a worker process (`python -m latentgap worker`)
claims them one at a time and runs the same `diagnose()` as the CLI, reporting each step. Heavy work never runs
inside the app, so a crash or out-of-memory kills the worker, not the dashboard: the app restarts the worker and
puts the interrupted job back in the queue (`Store.recover_jobs`). The long loops report their progress
(`progress.report`); `JobProgress` stores it in the job's row every couple of seconds and, in the same write, learns
whether the user cancelled: a cancelled job stops within a batch of its loop and the worker takes the next job.
`diagnose()` writes a run in one transaction at its end, so an interrupted job leaves no half-written results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

from latentgap import progress
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
    """A stored job's spec as a DiagnosisSpec; a LatentgapError (one line) when it is not one, e.g. written by another
    version or by hand, so the worker fails that job once instead of crashing on it and having it retried."""
    known = {f.name for f in fields(DiagnosisSpec)}
    try:
        return DiagnosisSpec(**{k: v for k, v in d.items() if k in known})
    except (TypeError, ValueError) as e:  # a missing or ill-typed field
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise LatentgapError(
            f"the job's spec is not a diagnosis this latentgap can run ({reason}); queue it again from the Diagnose "
            "tab or with `diagnose --queue`"
        ) from None


def step_names(spec: DiagnosisSpec) -> list[str]:
    """The steps `diagnose()` reports, in order, for progress fractions (diagnose.steps owns the list)."""
    from latentgap.diagnose import steps

    return steps(spec)


def queue_diagnosis(store: Store, spec: DiagnosisSpec, label: str) -> tuple[str, bool]:
    """Queue `spec` as a job unless an identical one is queued or running: (job id, whether it is new)."""
    record = {k: v for k, v in spec.to_dict().items() if k != "profile_settings"}  # the worker rebuilds those
    existing = store.active_job(record)
    return (existing, False) if existing else (store.submit_job(record, label), True)


def public_message(message: str, home: Path) -> str:
    """A job's error as dashboard users see it: the workspace's location reads `<workspace>` (no server paths)."""
    for folder in sorted({str(Path(home).resolve()), str(Path(home))}, key=len, reverse=True):
        message = message.replace(folder, "<workspace>")
    return message


class JobProgress:
    """One running job's reporter: `diagnose()`'s step callback and the `progress` listener of its loops.

    Writes the step, its fraction and its start time to the job's row (a step change at once, loop progress at most
    every `every_s` seconds: a store write opens the database, tens of milliseconds) and raises `JobCancelled` when
    that write finds the job cancelled.
    """

    def __init__(self, store: Store, job_id: str, names: list[str], every_s: float = 2.0):
        self.store, self.job_id, self.names, self.every_s = store, job_id, names, every_s
        self.name, self.index, self.fraction, self.written = "starting", 0, 0.0, time.monotonic()

    def step(self, name: str, _frac: float = 0.0) -> None:
        self.name, self.fraction = name, 0.0
        self.index = self.names.index(name) if name in self.names else self.index
        self._write("", step_started_s=time.time())

    def __call__(self, fraction: float | None, detail: str) -> None:
        if fraction is not None:
            self.fraction = min(max(float(fraction), 0.0), 1.0)
        if time.monotonic() - self.written >= self.every_s:
            self._write(detail)

    def _write(self, detail: str, **extra) -> None:
        self.written = time.monotonic()
        overall = (self.index + self.fraction) / (len(self.names) - 1)
        step = f"{self.name} · {detail}" if detail else self.name
        live = self.store.update_job(
            self.job_id, step=step, progress=min(overall, 1.0), step_progress=self.fraction, **extra
        )
        if not live:
            raise JobCancelled


def run_job(store: Store, job_id: str, spec: DiagnosisSpec, home: Path) -> None:
    """Run one claimed job to the end: done with its run id, failed with a readable reason, or cancelled."""
    from latentgap.diagnose import diagnose

    reporter = JobProgress(store, job_id, step_names(spec))
    try:
        with progress.listening(reporter):
            run_id = diagnose(spec, home, on_step=reporter.step)
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
    for `idle_exit_s`. Returns the number of jobs run.

    An idle worker tries a claim only when the database files changed since its last empty one (queueing a job is a
    write): a claim opens the store read-write, ~0.15 s of CPU on a 1M-row store, which the dashboard needs more."""
    store, ran, idle_since, empty_at = Store(home), 0, time.monotonic(), None
    while max_jobs is None or ran < max_jobs:
        if parent_pid is not None and not pid_alive(parent_pid):
            break
        state = store.file_state()
        claimed = store.claim_job(os.getpid()) if state != empty_at else None
        if claimed is None:
            empty_at = state
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
        # every open page's 2 s tick calls ensure_running on its own thread: one check-and-start at a time, or a
        # dead (or not yet started) worker is replaced by several
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            Store(self.home).recover_jobs(pid_alive)
            with open(Workspace(self.home).worker_log, "ab") as log:  # the worker holds its own copy
                self.proc = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "latentgap", "worker"),
                        *("--home", str(self.home), "--parent-pid", str(os.getpid())),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=Path(__file__).resolve().parents[1],
                )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
