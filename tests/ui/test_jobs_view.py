"""The Diagnose tab's job list (elapsed time, time left, what a queued job waits behind) and the run watch that
refreshes the views when a run is stored (latentgap/ui/diagnose.py, latentgap/ui/refresh.py)."""

import os

import pandas as pd

from latentgap.store import Store
from latentgap.ui.diagnose import describe_jobs, duration, jobs_summary, jobs_view, seconds_left
from latentgap.ui.noise import fill_run_pickers
from latentgap.ui.refresh import check_runs
from tests.test_store import _metrics, _run


def test_duration_and_time_left():
    assert [duration(s) for s in (4.4, 65, 3600 + 125)] == ["4 s", "1 min 05 s", "1 h 02 min"]
    assert seconds_left(0.25, step_started_s=1000.0, now=1060.0) == 180.0  # 60 s for a quarter: 180 s to go
    assert seconds_left(0.01, 1000.0, 1060.0) is None and seconds_left(0.5, 1000.0, 1001.0) is None  # too early


def _jobs(now):
    return pd.DataFrame(
        dict(
            job_id=["c", "b", "a"],
            status=["queued", "queued", "running"],
            progress_pct=[0.0, 0.0, 40.0],
            step=["queued", "queued", "train latent · epoch 3/30"],
            label=["third", "second", "first"],
            created_at=pd.to_datetime(["2026-01-03", "2026-01-02", "2026-01-01"]),
            started_s=[float("nan"), float("nan"), now - 185],
            step_started_s=[float("nan"), float("nan"), now - 60],
            step_progress=[float("nan"), float("nan"), 0.25],
        )
    )


def test_running_job_shows_elapsed_and_time_left_and_queued_jobs_what_they_wait_behind():
    now = 10_000.0
    shown = describe_jobs(_jobs(now), now).set_index("job_id")
    assert shown.loc["a", "time"] == "3 min 05 s elapsed · step 25 % · about 3 min 00 s left"
    assert shown.loc["b", "step"] == "waits behind first (running)"
    assert shown.loc["c", "step"] == "waits behind first (running) and 1 more queued"
    summary = jobs_summary(shown.reset_index(), now)
    assert summary.startswith("**Running:** first — `train latent · epoch 3/30`, job 40 % done; 3 min 05 s elapsed")
    assert "3 min 00 s left (at most: early stopping may end training sooner)" in summary
    assert summary.endswith("2 job(s) queued behind it")


def test_queue_without_a_running_job():
    jobs = _jobs(0.0).assign(status=["queued", "queued", "done"])
    shown = describe_jobs(jobs, 0.0).set_index("job_id")
    assert shown.loc["b", "step"] == "next: starts when the worker is free"
    assert shown.loc["c", "step"] == "waits behind second" and shown.loc["a", "time"] == ""
    assert "No job running" in jobs_summary(shown.reset_index(), 0.0)


def test_jobs_view_of_a_claimed_job(tmp_path):
    store = Store(tmp_path)
    store.submit_job({"a": 1}, "first")
    store.submit_job({"a": 2}, "second")
    store.claim_job(os.getpid())
    table, summary = jobs_view(tmp_path)
    rows = table.set_index("label")
    assert rows.loc["first", "time"].endswith(" elapsed · estimating time left")
    assert rows.loc["second", "step"] == "waits behind first (running)"
    assert summary.startswith("**Running:** first — `starting`")


def test_the_run_watch_signals_only_when_a_run_is_stored(tmp_path):
    store = Store(tmp_path)
    seen, changed = check_runs(tmp_path, None)
    assert isinstance(seen, str) and changed == {"__type__": "update"}  # first look: recorded, no refresh
    assert check_runs(tmp_path, seen) == ({"__type__": "update"}, {"__type__": "update"})  # nothing new: no update
    store.submit_job({"a": 1}, "a job is not a run")
    assert check_runs(tmp_path, seen)[1] == {"__type__": "update"}
    store.write_run(_run("r2"), {"metrics": _metrics("r2")})
    now, changed = check_runs(tmp_path, seen)
    assert now != seen and changed == now  # the tabs' refresh fires


def test_run_pickers_keep_their_run_and_list_the_new_one(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run("r1"), {"metrics": _metrics("r1")})
    first, optional = fill_run_pickers(tmp_path, 1, 1)
    assert first.value == "r1" and optional.value == ""
    store.write_run({**_run("r2"), "autoencoder": "zoo:y"}, {"metrics": _metrics("r2")})
    kept, kept_optional = fill_run_pickers(tmp_path, 1, 1, ["r1", ""])
    assert kept.value == "r1" and [c[1] for c in kept.choices] == ["r2", "r1"]
    assert kept_optional.value == ""
    assert fill_run_pickers(tmp_path, 1, 0, [None])[0].value == "r2"  # an empty picker takes the newest


def test_run_pickers_say_which_data_is_real_and_which_synthetic(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run("r1"), {"metrics": _metrics("r1")})  # a phantom: synthetic
    store.write_run({**_run("r2"), "dataset": "chest-xray-pneumonia", "synthetic": False}, {"metrics": _metrics("r2")})
    labels = {c[1]: c[0] for c in fill_run_pickers(tmp_path, 1)[0].choices}
    assert "(SYNTHETIC)" in labels["r1"] and "chest-xray-pneumonia (real)" in labels["r2"]


def test_run_pickers_list_the_newest_runs_of_the_chosen_benchmark_and_keep_an_older_pick(tmp_path, monkeypatch):
    from latentgap.ui import noise

    monkeypatch.setattr(noise, "MAX_PICKER_RUNS", 3)
    store = Store(tmp_path)
    for i in range(5):
        dataset = "phantom-ct" if i == 1 else "phantom-chest"
        store.write_run({**_run(f"r{i}"), "dataset": dataset}, {"metrics": _metrics(f"r{i}")})
    first, optional = fill_run_pickers(tmp_path, 1, 1, ["r0", ""])
    assert [c[1] for c in first.choices] == ["r0", "r4", "r3", "r2"] and first.value == "r0"  # its own run, then 3
    assert [c[1] for c in optional.choices] == ["", "r4", "r3", "r2"] and optional.value == ""
    [ct] = fill_run_pickers(tmp_path, 1, 0, [], dataset=["phantom-ct"])
    assert [c[1] for c in ct.choices] == ["r1"] and ct.value == "r1"
    [quick] = fill_run_pickers(tmp_path, 1, 0, ["r4"], profile=["paper"])  # nothing matches: the pick stays
    assert [c[1] for c in quick.choices] == ["r4"] and quick.value == "r4"


def test_the_jobs_endpoint_answers_rest_api_calls(serve, tmp_path):
    """`POST /gradio_api/call/jobs`, then its event stream: the table, not an encoder error on its times."""
    import json
    import urllib.request

    store = Store(tmp_path)
    store.submit_job({"a": 1}, "first")
    url = serve(tmp_path)
    post = urllib.request.Request(
        f"{url}/gradio_api/call/jobs", data=b'{"data": []}', headers={"Content-Type": "application/json"}
    )
    event_id = json.loads(urllib.request.urlopen(post, timeout=60).read())["event_id"]
    stream = urllib.request.urlopen(f"{url}/gradio_api/call/jobs/{event_id}", timeout=60).read().decode()
    assert "event: complete" in stream, stream[-500:]
    data = json.loads(stream.split("event: complete\ndata: ")[1].splitlines()[0])
    [table] = data
    row = dict(zip(table["headers"], table["data"][0]))
    assert row["label"] == "first" and row["updated_at"][:2] == "20"
