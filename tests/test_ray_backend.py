"""`diagnose --backend ray` (latentgap/ray_backend.py) against the in-process backend: the same stored numbers, and a
worker killed mid-job costs time, not results. One local Ray with 2 CPU workers serves the module (Ray is slow to
start); the runs use the quick profile cut to MAX_SAMPLES images so that the module takes minutes, not an hour."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from latentgap import ray_backend
from latentgap.diagnose import diagnose
from latentgap.errors import LatentgapError
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store
from latentgap.tools.backend_parity import stored_records

MAX_SAMPLES = 200
SPEC = dict(
    autoencoder="zoo:sd-vae-mini",
    dataset="phantom-chest",
    profile="quick",
    max_samples=MAX_SAMPLES,
    device="cpu",
    seed=0,
)
ENCODER_TITLE, TRAIN_TITLE = "ray::MapWorker(MapBatches(_Encoder))", "ray::_train_task"


@pytest.fixture(scope="module")
def cluster():
    with ray_backend.session(num_cpus=2) as ray:
        yield ray


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory):
    """What an in-process quick run stores, on one torch thread (as every Ray worker runs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        home = tmp_path_factory.mktemp("local")
        return stored_records(home, diagnose(DiagnosisSpec(**SPEC), home))
    finally:
        torch.set_num_threads(threads)


def assert_same_records(got: dict, want: dict) -> None:
    assert len(want["metrics"]) > 100 and want["metrics"].noise_level.notna().any()  # arms, probes and noise curves
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True, obj=name)


@pytest.mark.slow
def test_ray_backend_matches_local(cluster, local_tables, tmp_path):
    run_id = diagnose(DiagnosisSpec(**SPEC, backend="ray"), tmp_path)
    assert_same_records(stored_records(tmp_path, run_id), local_tables)  # exactly equal: tolerance 0
    [shards] = (tmp_path / "cache" / "shards").iterdir()
    latents, recons = ray_backend.read_shards(shards, MAX_SAMPLES)
    assert latents.shape == (MAX_SAMPLES, 4, 8, 8) and recons.shape == (MAX_SAMPLES, 3, 64, 64)
    assert Store(tmp_path).run_spec(run_id)["spec"]["backend"] == "ray"


@pytest.mark.slow
def test_ray_backend_trains_the_learning_curve_as_local(cluster, tmp_path):
    """`--train-fractions` goes through the executor seam: Ray trains the same nested subsets to the same numbers."""
    spec = dict(SPEC, profile="smoke", max_samples=100, train_fractions="0.5,1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as every Ray worker runs
    try:
        local = diagnose(DiagnosisSpec(**spec), tmp_path / "local")
    finally:
        torch.set_num_threads(threads)
    remote = diagnose(DiagnosisSpec(**spec, backend="ray"), tmp_path / "ray")

    def curve(home, run_id):
        df = Store(home).learning_curve(run_id).drop(columns=["run_id", "created_at"])
        return df.sort_values(list(df.columns)).reset_index(drop=True)

    want = curve(tmp_path / "local", local)
    assert set(want.train_fraction) == {0.5, 1.0} and len(want) > 20
    pd.testing.assert_frame_equal(curve(tmp_path / "ray", remote), want, check_exact=True)


def _our_ray_workers(title: str) -> list[int]:
    """Pids of this test's Ray workers (children of the raylet this process started) running `title`."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().split(b"\0")[0].decode().startswith(title):
                raylet = _parent(int(entry.name))
                if _parent(raylet) == os.getpid():
                    pids.append(int(entry.name))
        except OSError:  # the process ended while we looked
            continue
    return pids


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])


class Killer(threading.Thread):
    """SIGKILLs one encoder actor once the first shard is written (its pool still has batches to do), then one
    training task while it trains; records what it killed and how many shards existed at that moment."""

    def __init__(self, home: Path):
        super().__init__(daemon=True)
        self.home, self.stop, self.killed = home, threading.Event(), {}

    def run(self):
        while not self.stop.is_set() and len(self.killed) < 2:
            shards = len(list(self.home.glob("cache/shards/*/*.parquet")))
            if "encode" not in self.killed and shards:
                self._kill("encode", ENCODER_TITLE, shards)
            if "encode" in self.killed and "train" not in self.killed:
                self._kill("train", TRAIN_TITLE, shards)
            time.sleep(0.02)

    def _kill(self, phase: str, title: str, shards: int) -> None:
        for pid in _our_ray_workers(title):
            os.kill(pid, signal.SIGKILL)
            self.killed[phase] = (pid, shards)
            return


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds Ray worker processes through /proc")
def test_killed_workers_are_retried(cluster, local_tables, tmp_path):
    killer = Killer(tmp_path)
    killer.start()
    try:
        run_id = diagnose(DiagnosisSpec(**SPEC, backend="ray"), tmp_path)
    finally:
        killer.stop.set()
        killer.join()
    assert set(killer.killed) == {"encode", "train"}, killer.killed
    n_shards = len(list(tmp_path.glob("cache/shards/*/*.parquet")))
    assert killer.killed["encode"][1] < n_shards  # the encoder died with shards still to write
    assert_same_records(stored_records(tmp_path, run_id), local_tables)  # complete and exactly as undisturbed


def test_bad_backend_options_are_refused():
    with pytest.raises(LatentgapError, match="--backend 'spark'"):
        DiagnosisSpec(**SPEC, backend="spark")
    with pytest.raises(LatentgapError, match="needs --backend ray"):
        DiagnosisSpec(**SPEC, ray_address="auto")


def test_unreachable_cluster_is_a_clear_error(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(LatentgapError, match=r"--ray-address 127\.0\.0\.1:9: no Ray cluster answers there"):
        diagnose(DiagnosisSpec(**SPEC, backend="ray", ray_address="127.0.0.1:9"), tmp_path)
    assert time.perf_counter() - t0 < 30


def test_missing_ray_names_the_requirements_file(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    with pytest.raises(LatentgapError, match=r"pip install -r requirements-ray\.txt"):
        ray_backend.require_ray()


def test_default_backend_never_imports_ray():
    code = (
        "import sys; from latentgap import cli, diagnose, jobs; cli.build_parser(); "
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray imported'"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.slow
def test_a_cancelled_job_cancels_its_ray_tasks(cluster):
    """The driver polls while Ray tasks run: a dashboard job's cancellation (its progress listener raising) leaves
    the wait within about a second and cancels the tasks still running, so the cluster's CPUs are free again."""
    import numpy as np

    from latentgap import progress

    class Stop(Exception):
        pass

    def stop(_fraction, _detail):
        raise Stop

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30_000, 300)).astype(np.float32), rng.integers(0, 5, 30_000)
    # every point's neighbours among 30k at one thread: tens of seconds on any CPU (a logistic regression
    # on random data converged within the first second's wait on a fast machine and so never saw the cancel)
    jobs = {f"probe-{i}": ("knn", x, y, x, 5) for i in range(2)}
    t0 = time.monotonic()
    with progress.listening(stop), pytest.raises(Stop):
        ray_backend.probe_probas(jobs, seed=0)
    assert time.monotonic() - t0 < 10  # one poll (1 s) after the tasks started, not after they finished
    deadline = time.monotonic() + 30
    while cluster.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cluster.available_resources().get("CPU", 0) == 2  # the cancelled tasks released their CPUs
