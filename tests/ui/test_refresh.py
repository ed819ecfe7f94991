"""Cached read views (latentgap/ui/refresh.py): answered from Gradio's cache while the stored runs are unchanged."""

import threading
import time

from latentgap.store import Store
from latentgap.ui.refresh import cached_view
from tests.test_store import _metrics, _run


def _counted_view(home, calls, pause_s=0.0):
    def view(metric, run_ids=None):
        calls.append(metric)
        time.sleep(pause_s)
        return metric, Store(home).runs().run_id.tolist()

    return view


def test_a_cached_view_is_recomputed_only_when_a_run_is_stored(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run("r1"), {"metrics": _metrics("r1")})
    calls = []
    cached = cached_view(tmp_path, _counted_view(tmp_path, calls))
    assert cached("auroc") == cached("auroc") == ("auroc", ["r1"]) and calls == ["auroc"]
    assert cached("balanced_accuracy")[0] == "balanced_accuracy" and len(calls) == 2  # other inputs: computed
    store.update_job(store.submit_job({"a": 1}, "a job"), progress=0.5)  # a job's progress is not a run
    assert cached("auroc") == ("auroc", ["r1"]) and len(calls) == 2
    store.write_run(_run("r2"), {"metrics": _metrics("r2")})
    assert cached("auroc") == ("auroc", ["r2", "r1"]) and len(calls) == 3


def test_concurrent_misses_compute_a_view_once(tmp_path):
    Store(tmp_path).write_run(_run("r1"), {"metrics": _metrics("r1")})
    calls, start = [], threading.Barrier(6)
    cached = cached_view(tmp_path, _counted_view(tmp_path, calls, pause_s=0.3))
    answers = []

    def client():
        start.wait()
        answers.append(cached("auroc", run_ids=["r1"]))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["auroc"] and answers == [("auroc", ["r1"])] * 6


def test_the_cached_job_list_follows_every_write(tmp_path):
    from latentgap.ui.diagnose import jobs_table
    from latentgap.ui.refresh import jobs_version

    store = Store(tmp_path)
    job = store.submit_job({"a": 1}, "first")
    cached = cached_view(tmp_path, lambda: jobs_table(tmp_path), version=lambda: jobs_version(tmp_path))
    assert cached().status.tolist() == ["queued"]
    store.cancel_job(job)  # a job's change is no run: the runs fingerprint alone would keep the old list
    assert cached().status.tolist() == ["cancelled"]
