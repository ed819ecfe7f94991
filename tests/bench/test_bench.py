"""The bench on tiny inputs: real sections (classifiers in fresh processes, the encoder, the store), the JSON's
headline figures, results round-trip and the generated README tables. No timing assertions."""

import math

import pytest

from latentgap.cli import main
from latentgap.tools import bench
from latentgap.tools.bench import classifiers, encoding, families, report
from latentgap.tools.bench import store as store_bench


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    results = dict(
        mode="quick",
        device="cpu",
        created="now",
        machine=bench.machine_info("cpu", "test"),
        section_seconds={"classifiers": 1.0},
        total_seconds=1.0,
    )
    results["classifiers"] = classifiers.run(
        work, "cpu", quick=True, batch=2, reps=2, cases=classifiers.QUICK_CASES, n_pool=8
    )
    results["encoding"] = encoding.run(work, "cpu", quick=True, n_images=4, reps=1)
    results["families"] = families.run("cpu", quick=True, families=("taesd", "medvae"), reps=1)
    results["machine"]["load_average_end"] = results["machine"]["load_average_start"]
    results["headline"] = bench.headline(results)
    return results


def test_headline_figures_are_finite_positive_ratios_of_medians(tiny_results):
    h = tiny_results["headline"]
    assert set(bench.HEADLINE_KEYS) <= set(h)
    for key in bench.HEADLINE_KEYS:
        assert math.isfinite(h[key]) and h[key] > 0, key
    [pair] = tiny_results["classifiers"]["comparisons"]
    cases = tiny_results["classifiers"]["cases"]
    image, latent = cases[pair["image"]], cases[pair["latent"]]
    expected = latent["train_throughput"]["median"] / image["train_throughput"]["median"]
    assert h["latent_vs_image.throughput_ratio"] == pytest.approx(expected)
    assert h["latent_vs_image.memory_ratio"] == pytest.approx(
        image["tensor_memory_train_mb"] / latent["tensor_memory_train_mb"]
    )
    assert (
        image["train_throughput"]["n"] == 2 and image["gflop_per_sample_forward"] > latent["gflop_per_sample_forward"]
    )
    assert 0 < tiny_results["encoding"]["flop_fraction"] < 5  # achieved / measured matmul FLOP/s (noisy on tiny inputs)
    enc = tiny_results["encoding"]
    assert enc["batched_vs_naive_ratio"] == pytest.approx(enc["batched"]["median"] / enc["naive"]["median"])


def test_results_round_trip_and_render(tiny_results, tmp_path):
    path = bench.write_results(tiny_results, tmp_path / "results" / bench.results_name(tiny_results))
    assert path.name == "cpu-quick.json"
    loaded = bench.load_results(tmp_path / "results")
    assert list(loaded) == ["cpu-quick"] and loaded["cpu-quick"]["headline"] == tiny_results["headline"]
    text = report.render_all(loaded)
    assert "quick-latent-film-convnext-4x8x8" in text and "FLOP fraction" in text
    assert "**Families at full size**" in text and "| `medvae` | 55.3 M | 1 x f4 |" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Performance\n\n{report.BEGIN}\nstale\n{report.END}\n\n## Next\n")
    assert report.update_readme(readme, loaded)
    updated = readme.read_text()
    assert "stale" not in updated and "`cpu-quick`" in updated and updated.endswith("## Next\n")


def test_cli_report_renders_stored_results(tiny_results, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no README.md here: only benchmarks/README.md is written
    bench.write_results(tiny_results, tmp_path / "benchmarks" / "results" / "cpu-quick.json")
    assert main(["bench", "--report", "--results-dir", str(tmp_path / "benchmarks" / "results")]) == 0
    assert "latent/image throughput" in (tmp_path / "benchmarks" / "README.md").read_text()


def test_cli_report_without_results_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--report", "--results-dir", str(tmp_path / "none")]) == 2
    assert "no results in" in capsys.readouterr().err


def test_unknown_section_is_refused():
    with pytest.raises(Exception, match="unknown bench section"):
        bench.run_bench(quick=True, device="cpu", sections=("classifiers", "gpu-magic"))


def test_store_section_times_every_named_query(tmp_path):
    out = store_bench.run(tmp_path, quick=True, n_metric_rows=3_000, n_projection_points=400, reps=1)
    assert set(out["queries"]) == set(store_bench.QUERIES)
    assert out["queries"]["results(all)"]["rows"] == 3_000  # every metric row, joined with its run
    assert 0 < out["queries"]["results(run)"]["rows"] < 3_000 and out["queries"]["results(run)"]["dashboard"]
    assert out["queries"]["projections"]["rows"] == 400 and out["queries"]["jobs"]["rows"] == 50
    assert out["written"]["runs"] == -(-3_000 // len(store_bench.metric_template()))


def test_families_section_builds_each_family_at_its_full_size_config(tiny_results):
    from latentgap.autoencoders.families import get_family

    out = tiny_results["families"]
    assert out["resolution"] == families.RESOLUTION[("cpu", True)] and list(out["families"]) == ["taesd", "medvae"]
    for name, row in out["families"].items():
        assert (
            row["latent_channels"] == get_family(name).latent_channels
            and row["factor"] == get_family(name).downsampling_factor
        )
        assert row["throughput"]["n"] == 1 and row["throughput"]["median"] > 0 and row["gflop_per_image"] > 0
    assert out["families"]["taesd"]["parameters"] == families.full_size_autoencoder("taesd").parameters > 2e6


def _dashboard_out(p95s: dict, errors=0) -> dict:
    from latentgap.tools.bench import dashboard

    endpoints = {
        n: dict(n=8, p50_ms=p95 / 2, p95_ms=p95, max_ms=p95 + 1, passed=p95 <= dashboard.P95_TARGET_MS)
        for n, p95 in p95s.items()
    }
    out = dict(clients=10, rounds=4, time_limit_s=60, requests=8 * len(p95s), errors=errors, unfinished=0)
    out |= dict(endpoints=endpoints, warmup_requests_per_client=7, p95_target_ms=500.0)
    out["endpoints_p95_over_500ms"] = [n for n, e in endpoints.items() if not e["passed"]]
    out["verdict"] = dashboard.verdict(out)
    return out


def test_dashboard_verdict_grades_every_endpoints_p95_against_the_target():
    from latentgap.tools.bench import dashboard

    fast = {n: 120.0 for n in dashboard.ENDPOINTS}
    assert _dashboard_out(fast)["verdict"].startswith("PASS: every endpoint answered with p95 <= 500 ms under 10")
    slow = _dashboard_out({**fast, "/runs": 500.5})
    assert slow["verdict"] == "FAIL (10 concurrent clients): p95 over 500 ms: /runs"
    assert "2 failed requests" in _dashboard_out(fast, errors=2)["verdict"]
    missing = _dashboard_out({n: 1.0 for n in list(dashboard.ENDPOINTS)[1:]})
    assert missing["verdict"].endswith(f"no answer from {list(dashboard.ENDPOINTS)[0]}")
    table = "\n".join(report._dashboard(slow))
    assert (
        "| `/runs` | 8 | 250 | 500 | 502 | **FAIL** |" in table and "| `/jobs` | 8 | 60 | 120 | 121 | pass |" in table
    )
    assert "7 untimed warm-up requests per client" in table and "**Verdict: FAIL" in table
    old = {k: v for k, v in slow.items() if k not in ("verdict", "warmup_requests_per_client")}
    for e in old["endpoints"].values():
        e.pop("passed")
    assert "Verdict" not in "\n".join(report._dashboard(old))  # results written before the verdict still render
