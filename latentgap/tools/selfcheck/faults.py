"""Fault scenarios: kill the worker and the app, run out of memory and disk, read-only and damaged stores, a crowd
of jobs. Each ends by checking that the store is consistent and that a run finished before the fault is intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from latentgap.errors import LatentgapError
from latentgap.tools.selfcheck.common import (
    ROOT,
    SEED_RUN,
    SMOKE_SPEC,
    Outcome,
    caches_complete,
    latent_caches,
    lost_records,
    python,
    run_python,
    seed_finished_run,
    wait_job,
)


def worker_killed(home: Path, steps: tuple[str, ...] = ("encode", "train")) -> Outcome:
    """SIGKILL the dashboard's worker when its job reaches each of `steps` in turn, restarting it as the app does
    (requeue, new worker); then let the job finish. The rerun after a kill in training reuses the cached latents."""
    from latentgap.jobs import WorkerSupervisor
    from latentgap.store import Store

    out, snapshot = Outcome("worker killed mid-encode and mid-training", "fault"), seed_finished_run(home)
    store = Store(home)
    job = store.submit_job(SMOKE_SPEC, "selfcheck")
    supervisor = WorkerSupervisor(home)
    for step in steps:
        supervisor.ensure_running()  # the app's (re)start path: requeue a dead worker's job, start a worker
        row = wait_job(home, job, lambda r, step=step: r["step"].startswith(step), 300, supervisor.proc)
        supervisor.proc.send_signal(signal.SIGKILL)
        supervisor.proc.wait()
        caches = latent_caches(home)
        stamps = [p.stat().st_mtime_ns for p in caches]
        out.check(row["step"].startswith(step), f"worker killed (SIGKILL) at step {row['step']!r}")
        out.check(set(store.runs().run_id) == {SEED_RUN}, "  no run or metric written by the killed job", count=False)
        out.check(
            caches_complete(home, SMOKE_SPEC["max_samples"]),
            f"  latent cache {'complete' if caches else 'absent'} after the kill, never half-written",
            count=False,
        )
    supervisor.ensure_running()
    row = wait_job(home, job, lambda r: r["status"] in ("done", "failed"), 420, supervisor.proc)
    supervisor.stop()
    out.check(
        row["status"] == "done" and row["attempts"] == len(steps) + 1,
        f"job requeued and finished after the restarts (status {row['status']}, attempt {row['attempts']})",
        count=False,
    )
    if caches:
        resumed = [p.stat().st_mtime_ns for p in caches] == stamps
        out.check(resumed, "the last rerun resumed from the cached latents (cache file untouched)", count=False)
    out.check(set(store.runs().run_id) == {SEED_RUN, row["run_id"]}, "exactly one new run, the job's own", count=False)
    out.lost = lost_records(home, snapshot)
    out.check(out.lost == 0, "the finished run before the faults is intact", count=False)
    return out


APP_CHILD = """
import os, sys, time
from latentgap.store import Store
from latentgap.ui.diagnose import submit
ids = submit(sys.argv[1], None, "zoo:sd-vae-mini", "auto", ["phantom-chest", "phantom-derm", "phantom-ct"], "smoke", 60, 0)
Store(sys.argv[1]).claim_job(os.getpid())  # the oldest one starts running, as in the app's worker
print(" ".join(ids), flush=True)
time.sleep(600)
"""


def app_killed_with_queued_jobs(home: Path) -> Outcome:
    """The app's submit handler queues three jobs, one starts, the process is SIGKILLed; a restart finds them all."""
    from latentgap.jobs import pid_alive
    from latentgap.store import Store

    out, snapshot = Outcome("app killed with jobs queued", "fault"), seed_finished_run(home)
    app = python(APP_CHILD, str(home), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ids = app.stdout.readline().split()
    app.send_signal(signal.SIGKILL)
    app.wait()
    Store(home).recover_jobs(pid_alive)  # what the restarted app does first (WorkerSupervisor.ensure_running)
    jobs = Store(home).jobs().set_index("job_id")
    out.check(len(ids) == 3 and set(jobs.index) == set(ids), f"all {len(ids)} submitted jobs still in the queue")
    out.check((jobs.status == "queued").all(), f"all queued again (states {sorted(jobs.status)})", count=False)
    out.lost = lost_records(home, snapshot)
    out.check(out.lost == 0, "the finished run before the fault is intact", count=False)
    return out


class _MemoryCapped:
    """An autoencoder that runs out of memory on batches larger than `cap` images (an injected fault)."""

    def __init__(self, ae, cap: int, error: Callable[[str], Exception]):
        self.ae, self.cap, self.error, self.batches = ae, cap, error, []

    def __getattr__(self, name):
        return getattr(self.ae, name)

    def encode(self, x):
        if len(x) > self.cap:
            raise self.error(f"out of memory (injected: a batch of {len(x)} over the cap of {self.cap})")
        self.batches.append(len(x))
        return self.ae.encode(x)


def out_of_memory_in_a_batch(home: Path) -> Outcome:
    """A batch over a memory cap: the encode halves its batch and finishes (same numbers), or fails clearly at 1."""
    import torch

    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.encode import encode_decode

    out = Outcome("out of memory in a batch", "fault")
    ae = load_autoencoder("zoo:sd-vae-mini")
    images = np.random.default_rng(0).uniform(size=(12, 1, 64, 64)).astype(np.float32)
    reference = encode_decode(ae, images, 12, "cpu")
    capped = _MemoryCapped(ae, 3, torch.OutOfMemoryError)
    latents, recons = encode_decode(capped, images, 12, "cpu")
    same = np.allclose(latents, reference[0], atol=1e-4) and np.allclose(recons, reference[1], atol=1e-4)
    out.check(
        same and max(capped.batches) == 3, f"batch backed off 12 -> {max(capped.batches)} and finished, same latents"
    )
    try:
        encode_decode(_MemoryCapped(ae, 0, RuntimeError), images, 12, "cpu")
        out.check(False, "out of memory even at batch 1 must fail")
    except LatentgapError as e:
        out.check("even at batch size 1" in str(e), f"out of memory at batch 1 fails clearly: {e}")
    return out


WRITE_RUN_CHILD = """
import sys
from latentgap.errors import LatentgapError
from latentgap.store import Store
rows = [dict(run_id="filler", arm="image", quantity="score", metric=f"m{i}", value=float(i), ci_low=0.0, ci_high=1.0, fold=0,
             noise_level=None) for i in range(100_000)]
run = dict(run_id="filler", autoencoder="x", family="sd-vae", ae_hash="h", dataset="d", synthetic=True,
           profile="smoke", seed=0, device="cpu", spec={}, versions={}, timing={})
try:
    Store(sys.argv[1]).write_run(run, {"metrics": rows})
except LatentgapError as e:
    sys.exit(f"error: {e}")
"""
WRITE_CACHE_CHILD = """
import sys
import numpy as np
from latentgap.cache import atomic_savez
from latentgap.errors import LatentgapError
try:
    atomic_savez(sys.argv[1], latents=np.ones((256, 4, 64, 64), np.float32))
except LatentgapError as e:
    sys.exit(f"error: {e}")
"""


def disk_full_on_store_and_cache(home: Path) -> Outcome:
    """Writers whose files may not grow past a cap (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC)."""
    out, snapshot = Outcome("disk full while writing the store and the cache", "fault"), seed_finished_run(home)
    db = home / "latentgap.duckdb"
    code, text = run_python(WRITE_RUN_CHILD, str(home), limit_bytes=db.stat().st_size + 65536)
    line = text.strip().splitlines()[-1] if text.strip() else ""
    out.check(
        code == 1 and line.startswith("error: cannot write to the store") and "Traceback" not in text,
        f"store write refused clearly: {line[:160]}",
    )
    cache = home / "cache" / "latents" / "big.npz"
    code, text = run_python(WRITE_CACHE_CHILD, str(cache), limit_bytes=1 << 20)
    line = text.strip().splitlines()[-1] if text.strip() else ""
    out.check(
        code == 1 and line.startswith("error: cannot write the cache file") and "free disk space" in line,
        f"cache write refused clearly: {line[:160]}",
    )
    out.check(not any(cache.parent.iterdir()), "no cache file or temporary file left behind", count=False)
    from latentgap.store import Store

    out.check("filler" not in set(Store(home).runs().run_id), "nothing of the failed run was kept", count=False)
    out.lost = lost_records(home, snapshot)
    out.check(out.lost == 0, "the finished run before the fault is intact", count=False)
    return out


def _read_only(home: Path, argv: list[str]) -> list[str] | None:
    """`argv` made to see `home` read-only: a read-only bind mount for root (who ignores permissions), else chmod."""
    if os.geteuid() != 0:
        for p in [home, *home.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        return argv
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(home), *argv]


def read_only_workspace(home: Path) -> Outcome:
    """`diagnose` and `results` against a read-only workspace: one clear line each, nothing lost."""
    out, snapshot = Outcome("read-only workspace", "fault"), seed_finished_run(home)
    cli = [sys.executable, "-m", "latentgap"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    try:
        for verb in (["diagnose", "--profile", "smoke", "--max-samples", "60"], ["results", "--json"]):
            argv = _read_only(home, [*cli, *verb, "--home", str(home)])
            if argv is None:
                out.skipped = "no way to make a folder read-only for root here (unshare -m is not permitted)"
                return out
            done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300, check=False)
            last = (done.stderr.strip().splitlines() or [""])[-1]
            ok = done.returncode == 2 and "not writable" in last and "Traceback" not in done.stderr
            out.check(ok, f"{verb[0]} refused clearly: {last[:160]}")
    finally:
        for p in [home, *home.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
    out.lost = lost_records(home, snapshot)
    out.check(out.lost == 0, "the finished run before the fault is intact", count=False)
    return out


CLIENT_CHILD = """
import sys
from latentgap.store import Store
store, n, tag, real = Store(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
spec = dict(autoencoder="zoo:sd-vae-mini", profile="smoke", max_samples=60, device="cpu")
for i in range(n):  # the first job of a "real" client runs to the end; the others fail at validation, cleanly
    dataset = "phantom-chest" if real and i == 0 else f"no-such-benchmark-{tag}-{i}"
    print(store.submit_job({**spec, "dataset": dataset}, f"{tag}-{i}"), flush=True)
"""
WORKER_CHILD = """
import sys
from latentgap.jobs import work
print(work(sys.argv[1], poll_s=0.05, idle_exit_s=4.0))
"""


def concurrent_jobs(home: Path, clients: int = 4, per_client: int = 5, workers: int = 2) -> Outcome:
    """20 jobs submitted at once by 4 client processes while 2 worker processes drain the queue."""
    from latentgap.store import Store

    out, snapshot = Outcome("20 jobs from several clients at once", "fault"), seed_finished_run(home)
    pipe = dict(stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    pool = [python(WORKER_CHILD, str(home), **pipe) for _ in range(workers)]
    subs = [python(CLIENT_CHILD, str(home), str(per_client), f"c{c}", str(int(c == 0)), **pipe) for c in range(clients)]
    submitted = [line for p in subs for line in p.communicate(timeout=300)[0].split()]
    ran = sum(int(p.communicate(timeout=600)[0].split()[-1]) for p in pool)
    jobs = Store(home).jobs().set_index("job_id")
    n = clients * per_client
    out.check(len(set(submitted)) == n and set(jobs.index) == set(submitted), f"{len(jobs)} of {n} jobs in the queue")
    out.check(
        ran == n and (jobs.attempts == 1).all(),
        f"each job run exactly once ({ran} runs by {workers} workers)",
        count=False,
    )
    done, failed = (jobs.status == "done").sum(), (jobs.status == "failed").sum()
    clean = jobs[jobs.status == "failed"].error.str.contains("unknown benchmark|no-such-benchmark").all()
    out.check(
        done + failed == n and done == 1 and clean, f"{done} done, {failed} failed with a clear reason", count=False
    )
    out.check(set(Store(home).runs().run_id) == {SEED_RUN, *jobs.run_id.dropna()}, "one run per done job", count=False)
    out.lost = lost_records(home, snapshot)
    out.check(out.lost == 0, "the finished run before the fault is intact", count=False)
    return out


def corrupt_and_old_stores(home: Path) -> Outcome:
    """A damaged store file is refused untouched; an older schema is backed up then migrated; newer is refused."""
    import duckdb  # only to forge stores written by other versions; latentgap itself goes through Store

    from latentgap.store import DB_NAME, SCHEMA_VERSION, Store

    out = Outcome("corrupt, truncated, foreign, older and newer stores", "fault")
    seed_finished_run(home)
    db = home / DB_NAME
    good = db.read_bytes()
    for label, data in (("garbage bytes", os.urandom(300_000)), ("truncated to half", good[: len(good) // 2])):
        db.write_bytes(data)
        try:
            Store(home)
            out.check(False, f"{label} store must be refused")
        except LatentgapError as e:
            out.check(db.read_bytes() == data and str(home) not in str(e), f"{label}: refused untouched ({e})")
    db.unlink()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.close()
    try:
        Store(home)
        out.check(False, "a DuckDB file of another program must be refused")
    except LatentgapError as e:
        out.check("not a latentgap store" in str(e), f"foreign DuckDB file refused: {e}")
    db.unlink()
    snapshot = seed_finished_run(home)
    con = duckdb.connect(str(db))  # roll the store back to schema v1: no jobs, no projections
    con.execute("DROP TABLE jobs; DROP TABLE projections; UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    store = Store(home)
    backup = home / "latentgap.v1.duckdb"
    out.check(
        store.jobs().empty
        and store.projections(SEED_RUN).empty
        and backup.exists()
        and lost_records(home, snapshot) == 0,
        f"v1 store copied to {backup.name} and migrated to v{SCHEMA_VERSION}, its run intact",
    )
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    before = db.read_bytes()
    try:
        Store(home)
        out.check(False, "a newer store must be refused")
    except LatentgapError as e:
        out.check("newer than this latentgap" in str(e) and db.read_bytes() == before, f"newer store refused: {e}")
    return out


SCENARIOS = {
    "kill-worker": worker_killed,
    "kill-app": app_killed_with_queued_jobs,
    "oom": out_of_memory_in_a_batch,
    "disk-full": disk_full_on_store_and_cache,
    "read-only": read_only_workspace,
    "concurrent-jobs": concurrent_jobs,
    "stores": corrupt_and_old_stores,
}
