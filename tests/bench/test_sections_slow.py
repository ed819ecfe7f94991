"""Bench sections that start heavy machinery (numba's UMAP, the dashboard server, a diagnosis), on tiny inputs."""

import pytest

from latentgap.tools.bench import dashboard, end_to_end, projection, report
from latentgap.tools.bench import store as store_bench

pytestmark = pytest.mark.slow


def test_projection_compares_fast_and_before_and_estimates_what_it_skips():
    out = projection.run(quick=True, sizes=(60, 300), before_sizes=(60,), reps=1, warmup_n=50)
    small, large = out["sizes"]["60"], out["sizes"]["300"]
    assert not small["before"]["estimated"] and "before" not in large  # nothing above the 5k fit to scale from
    assert small["speedup"] == small["before"]["seconds"]["median"] / small["fast"]["seconds"]["median"] != 1
    assert 0.5 < large["fast"]["trustworthiness"] <= 1 and 0 <= small["knn_shared_with_before"] <= 1
    assert set(out["first_call_s"]) == {"fast", "before"} and out["first_call_s"]["fast"]["cpu"] > 0
    table = "\n".join(report._projection(out))
    assert "| 60 |" in table and "| 300 | – |" in table and "trustworthiness before / fast" in table


def test_dashboard_under_load_answers_every_endpoint(tmp_path):
    written = store_bench.populate(tmp_path, n_metric_rows=2_000, n_projection_points=100, n_jobs=3)
    out = dashboard.run(tmp_path, written["newest_run"], quick=True, clients=2, rounds=1, time_limit_s=120)
    assert out["errors"] == 0 and out["requests"] == 2 * len(dashboard.ENDPOINTS)
    assert set(out["endpoints"]) == set(dashboard.ENDPOINTS)
    assert all(e["p50_ms"] <= e["p95_ms"] for e in out["endpoints"].values())
    assert out["warmup_requests_per_client"] == 1 + len(dashboard.ENDPOINTS)
    assert out["verdict"].startswith("PASS" if not out["endpoints_p95_over_500ms"] else "FAIL")


def test_serve_skips_a_port_taken_before_the_dashboard_binds_it(tmp_path, monkeypatch):
    """Another server on the probed port answers connections, yet it is not this dashboard: a new port is tried."""
    import json
    import socket
    import urllib.request

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy_port = taken.getsockname()[1]
    ports = iter([busy_port])
    real_free_port = dashboard.free_port
    monkeypatch.setattr(dashboard, "free_port", lambda: next(ports, None) or real_free_port())
    with taken:
        proc, url = dashboard.serve(tmp_path / "home", tmp_path / "serve.log", timeout_s=120)
    try:
        assert not url.endswith(f":{busy_port}")
        assert json.loads(urllib.request.urlopen(f"{url}/config", timeout=30).read())["title"] == "latentgap"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_end_to_end_reads_the_runs_own_step_timing(tmp_path):
    out = end_to_end.run(tmp_path, "cpu", quick=True, profile="smoke", max_samples=120, profile_to=tmp_path / "p.txt")
    assert {"load", "encode", "train_image_fold0_seed0"} <= set(out["steps_s"]) and out["slowest_step"] in out[
        "steps_s"
    ]
    assert out["wall_s"] >= sum(out["steps_s"].values()) * 0.9 and "diagnose" in (tmp_path / "p.txt").read_text()


def test_page_section_times_every_tab_handler(tmp_path, monkeypatch):
    from latentgap.tools.bench import page

    monkeypatch.setattr(page, "N_RUNS", 5)
    monkeypatch.setattr(page, "N_POINTS", 300)
    monkeypatch.setattr(page, "_browser_missing", lambda: "not in this test")  # the browser path: tests/ui
    out = page.run(tmp_path, quick=True)
    assert out["runs"] == 5 and out["browser_skipped"] == "not in this test"
    assert {"overview", "latent explorer (20k points)", "reconstructions", "compare (2 AEs)"} <= set(out["server"])
    assert all(f["median"] > 0 for f in out["server"].values())


def test_ray_section_compares_one_and_two_workers(tmp_path):
    from latentgap.tools.bench import ray_workers

    out = ray_workers.run(tmp_path, quick=True, workers=2, n_images=64, reps=1)
    assert out["images"] == 64 and set(out["images_per_s"]) == {"1", "2"}
    assert out["worker_ratio"] == out["images_per_s"]["2"]["median"] / out["images_per_s"]["1"]["median"]
