"""The job queue and worker: lifecycle, cancel, retry, recovery after a dead worker, one real job end to end."""

import os
import threading
import time
from pathlib import Path

import pytest

from latentgap import progress
from latentgap.jobs import (
    JobCancelled,
    JobProgress,
    WorkerSupervisor,
    pid_alive,
    public_message,
    queue_diagnosis,
    spec_from_dict,
    step_names,
    work,
)
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store

SMOKE = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="smoke", max_samples=60, device="cpu")


def _spec(**kw):
    d = {**SMOKE.__dict__, **kw}
    d.pop("extra", None)
    return d


def test_queue_lifecycle_cancel_retry(tmp_path):
    store = Store(tmp_path)
    a, b = store.submit_job(_spec(), "a"), store.submit_job(_spec(seed=1), "b")
    job_id, spec = store.claim_job(os.getpid())
    assert job_id == a and spec_from_dict(spec) == SMOKE and store.job_status(a) == "running"
    assert store.cancel_job(b) and store.job_status(b) == "cancelled" and not store.cancel_job(b)
    assert store.claim_job(os.getpid()) is None  # nothing left queued
    store.update_job(a, status="failed", error="boom")
    assert store.retry_job(a) and store.job_status(a) == "queued" and not store.retry_job(a)
    jobs = store.jobs()
    assert set(jobs.job_id) == {a, b} and jobs.set_index("job_id").loc[a, "attempts"] == 0


def test_a_dead_workers_job_is_requeued_then_failed(tmp_path):
    store = Store(tmp_path)
    job = store.submit_job(_spec(), "x")
    for attempt in range(1, 4):
        assert store.claim_job(999_999_999)[0] == job  # a pid that does not exist
        assert store.recover_jobs(pid_alive) == [job]
        expected = "queued" if attempt < 3 else "failed"
        assert store.job_status(job) == expected
    assert "stopped 3 times" in store.jobs().error.iloc[0]


def test_a_live_workers_job_is_left_alone(tmp_path):
    store = Store(tmp_path)
    store.submit_job(_spec(), "x")
    store.claim_job(os.getpid())
    assert store.recover_jobs(pid_alive) == []


def test_progress_steps_cover_every_arm():
    names = step_names(SMOKE)
    assert names[:2] == ["load", "encode"] and "train latent-film (seed 0, fold 0)" in names and names[-1] == "done"


@pytest.mark.slow
def test_worker_runs_a_job_and_reports_a_bad_one(tmp_path):
    store = Store(tmp_path)
    good = store.submit_job(_spec(), "good")
    bad = store.submit_job(_spec(autoencoder=str(tmp_path / "missing.safetensors")), "bad")
    assert work(tmp_path, max_jobs=2, poll_s=0.1) == 2
    jobs = store.jobs().set_index("job_id")
    assert jobs.loc[good, "status"] == "done" and jobs.loc[good, "progress_pct"] == 100
    assert jobs.loc[good, "run_id"] in set(store.gap_table().run_id)
    assert jobs.loc[bad, "status"] == "failed" and "missing.safetensors does not exist" in jobs.loc[bad, "error"]
    assert len(store.runs()) == 1  # the failed job wrote nothing


def test_an_idle_worker_exits_and_a_bad_spec_fails_without_server_paths(tmp_path):
    store = Store(tmp_path)
    job = store.submit_job(_spec(autoencoder=str(tmp_path / "uploads" / "gone.safetensors")), "gone")
    assert work(tmp_path, poll_s=0.05, idle_exit_s=0.5) == 1  # ran the one job, then left the empty queue
    error = store.jobs().set_index("job_id").loc[job, "error"]
    assert "<workspace>/uploads/gone.safetensors" in error and str(tmp_path) not in error


def test_an_idle_worker_tries_a_claim_only_after_a_write(tmp_path, monkeypatch):
    """A claim opens the store read-write (slow on a big store): an idle worker skips it while nothing was written."""
    claims, real = [], Store.claim_job
    monkeypatch.setattr(Store, "claim_job", lambda self, pid: claims.append(pid) or real(self, pid))
    Store(tmp_path)
    worker = threading.Thread(target=work, args=(tmp_path,), kwargs=dict(poll_s=0.05, idle_exit_s=2.0))
    worker.start()
    time.sleep(1.0)  # ~20 polls
    idle_claims = len(claims)
    job = Store(tmp_path).submit_job({"dataset": "phantom-chest"}, "queued while the worker idles")
    worker.join(timeout=60)
    assert idle_claims == 1 and Store(tmp_path).job_status(job) == "failed"  # claimed (and failed: no autoencoder)


def test_a_job_whose_spec_is_not_a_diagnosis_fails_once_with_one_line(tmp_path):
    """A spec written by hand or by another version (here without an autoencoder) fails its job; the worker lives on
    and the job is not retried."""
    store = Store(tmp_path)
    job = store.submit_job({"dataset": "phantom-chest", "seed": 0}, "no autoencoder")
    assert work(tmp_path, poll_s=0.05, idle_exit_s=0.5) == 1
    row = store.jobs().set_index("job_id").loc[job]
    assert row.status == "failed" and row.attempts == 1 and "\n" not in row.error
    assert (
        row.error.startswith("the job's spec is not a diagnosis this latentgap can run (") and "queue it" in row.error
    )
    assert store.recover_jobs(pid_alive) == []  # not a crashed job: nothing to requeue


def _workers(home) -> list[int]:
    """Pids of the worker processes running for `home` (read from /proc)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if b"worker" in args and str(home).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts processes in /proc")
def test_pages_ticking_together_start_one_worker(tmp_path):
    """Every open page's 2 s tick calls ensure_running on its own thread: one worker starts, not one per page."""
    import signal

    supervisor, start = WorkerSupervisor(tmp_path), threading.Barrier(8)

    def tick():
        start.wait()
        supervisor.ensure_running()

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert _workers(tmp_path) == [supervisor.proc.pid]
    finally:
        supervisor.stop()
        for pid in _workers(tmp_path):  # any extra worker this test caught
            os.kill(pid, signal.SIGTERM)


def test_public_message_hides_the_workspace_location(tmp_path):
    msg = f"cannot read {tmp_path.resolve()}/data/x.png and {tmp_path}/y"
    assert public_message(msg, tmp_path) == "cannot read <workspace>/data/x.png and <workspace>/y"


def test_job_progress_stores_step_fraction_and_times_then_stops_a_cancelled_job(tmp_path):
    store = Store(tmp_path)
    job = store.submit_job(_spec(), "x")
    store.claim_job(os.getpid())
    names = ["load", "encode", "train image", "done"]
    reporter = JobProgress(store, job, names, every_s=0.0)
    before = time.time()
    reporter.step("encode")
    with progress.listening(reporter):
        progress.report(0.5, "16/32 images")
    row = store.jobs().set_index("job_id").loc[job]
    assert row.step == "encode · 16/32 images" and row.step_progress == 0.5
    assert row.progress_pct == 50  # (step 1 + half of it) of 3 steps
    assert before <= row.step_started_s <= time.time() and row.started_s <= row.step_started_s
    store.cancel_job(job)
    with progress.listening(reporter), pytest.raises(JobCancelled):
        progress.report(0.6, "19/32 images")
    assert store.job_status(job) == "cancelled"


def test_job_progress_writes_at_most_every_few_seconds(tmp_path):
    store = Store(tmp_path)
    job = store.submit_job(_spec(), "x")
    store.claim_job(os.getpid())
    reporter = JobProgress(store, job, ["load", "done"], every_s=60.0)
    reporter.step("load")  # a new step is written at once
    store.cancel_job(job)
    with progress.listening(reporter):
        for i in range(100):
            progress.report(i / 100)  # within the interval: no write, so no database cost per batch
    with pytest.raises(JobCancelled):
        reporter.step("done")  # the next write finds the job cancelled


def test_an_identical_active_job_is_not_queued_twice(tmp_path):
    store = Store(tmp_path)
    first, new = queue_diagnosis(store, SMOKE, "a")
    assert new and queue_diagnosis(store, SMOKE, "a") == (first, False)
    other_spec = DiagnosisSpec("zoo:sd-vae-mini", "phantom-chest", profile="smoke")
    other, new = queue_diagnosis(store, other_spec, "b")
    assert new and other != first
    store.cancel_job(first)
    again, new = queue_diagnosis(store, SMOKE, "a")  # a cancelled job no longer counts
    assert new and again != first
    claimed, spec = store.claim_job(os.getpid())  # the oldest active one
    assert claimed == other and spec_from_dict(spec) == other_spec  # the stored spec rebuilds the same diagnosis


def _training_epochs(step) -> bool:
    """A job step inside the image classifier's epoch loop, e.g. "train image (seed 0, fold 0) · epoch 3/30"."""
    return str(step).startswith("train image") and "· epoch" in str(step)


@pytest.mark.slow
def test_cancelling_a_training_job_frees_the_worker_within_seconds(tmp_path):
    """Cancel while the first classifier trains (the quick profile: minutes of training left): the job stops inside
    the epoch loop, writes no run, and the worker returns for the next job."""
    store = Store(tmp_path)
    job = store.submit_job(_spec(profile="quick", max_samples=300), "long")
    cancelled_at = []

    def cancel_once_training():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not _training_epochs(store.jobs().step.iloc[0]):
            time.sleep(0.2)
        cancelled_at.append(time.monotonic())
        assert Store(tmp_path).cancel_job(job)

    canceller = threading.Thread(target=cancel_once_training, daemon=True)
    canceller.start()
    assert work(tmp_path, max_jobs=1, poll_s=0.1) == 1
    stopped_after = time.monotonic() - cancelled_at[0]
    canceller.join()
    assert stopped_after < 10, stopped_after
    assert store.job_status(job) == "cancelled" and store.runs().empty
