import duckdb
import pytest

from latentgap import LatentgapError
from latentgap.store import DB_NAME, SCHEMA_VERSION, Store


def _run(run_id="r1"):
    return dict(
        run_id=run_id,
        autoencoder="zoo:x",
        family="sd-vae",
        ae_hash="h",
        dataset="phantom-chest",
        synthetic=True,
        profile="quick",
        seed=0,
        device="cpu",
        spec={"a": 1},
        versions={},
        timing={"total": 1},
    )


def _metrics(run_id="r1"):
    rows = []
    for space, v in (("image", 0.8), ("reconstruction", 0.78), ("latent", 0.6)):
        rows.append(
            dict(
                run_id=run_id,
                space=space,
                metric="balanced_accuracy",
                value=v,
                ci_low=v - 0.05,
                ci_high=v + 0.05,
                fold=0,
            )
        )
    rows.append(
        dict(run_id=run_id, space="gap", metric="balanced_accuracy", value=0.18, ci_low=0.1, ci_high=0.25, fold=0)
    )
    rows.append(
        dict(
            run_id=run_id,
            space="fidelity_loss",
            metric="balanced_accuracy",
            value=0.02,
            ci_low=-0.01,
            ci_high=0.05,
            fold=0,
        )
    )
    return rows


def test_write_and_query(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run(), {"metrics": _metrics()})
    results = store.results()
    assert set(results.space) == {"image", "reconstruction", "latent", "gap", "fidelity_loss"}
    assert (results.autoencoder == "zoo:x").all() and (results.seed == 0).all()
    gap = store.gap_table().iloc[0]
    assert gap.image == 0.8 and gap.latent == 0.6 and gap.gap == 0.18 and gap.gap_ci_low == 0.1
    assert store.run_spec("r1")["spec"] == {"a": 1}


def test_a_failed_write_leaves_nothing(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run("r0"), {"metrics": _metrics("r0")})
    bad = _metrics("r1") + [dict(run_id="r1", space="x", metric="m", value="not a number")]
    with pytest.raises(duckdb.ConversionException):
        store.write_run(_run("r1"), {"metrics": bad})
    assert set(store.results().run_id) == {"r0"}  # the earlier run intact, no half of r1
    assert store.results("r0").equals(store.results()) and store.results("r1").empty
    assert list(store.runs().run_id) == ["r0"]


def test_newer_schema_is_refused(tmp_path):
    Store(tmp_path)
    con = duckdb.connect(str(tmp_path / DB_NAME))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(LatentgapError, match="newer than this latentgap"):
        Store(tmp_path)


def test_corrupt_file_is_refused_not_overwritten(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(LatentgapError, match="corrupt"):
        Store(tmp_path)
    assert (tmp_path / DB_NAME).read_bytes().startswith(b"this is not")


def test_unknown_run(tmp_path):
    with pytest.raises(LatentgapError, match="no run"):
        Store(tmp_path).run_spec("nope")


def test_concurrent_readers_in_one_process(tmp_path):
    """The dashboard queries on several threads at once (page load fires every tab's handler)."""
    from concurrent.futures import ThreadPoolExecutor

    Store(tmp_path).write_run(_run("run-a"), {"metrics": _metrics("run-a")})

    def query(_):
        store = Store(tmp_path)  # opens read-write to migrate, then reads read-only
        return len(store.gap_table()), len(store.runs())

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(query, range(32))) == {(1, 1)}


def test_gap_table_reports_mean_and_spread_over_folds(tmp_path):
    rows = []
    for fold, (rec, lat) in enumerate([(0.8, 0.6), (0.7, 0.6), (0.9, 0.6)]):
        for space, v in (("image", 0.85), ("reconstruction", rec), ("latent", lat), ("gap", rec - lat)):
            rows.append(
                dict(run_id="r", space=space, metric="balanced_accuracy", value=v, ci_low=v, ci_high=v, fold=fold)
            )
    Store(tmp_path).write_run(_run("r"), {"metrics": rows})
    row = Store(tmp_path).gap_table().iloc[0]
    assert row.n_folds == 3 and row.gap == pytest.approx(0.2) and row.gap_fold_std == pytest.approx(0.1)
    assert row.reconstruction_fold_std == pytest.approx(0.1) and row.latent_fold_std == pytest.approx(0.0)


def test_query_cache_never_serves_stale_results(tmp_path):
    """Repeated reads come from memory; a write from this process or another invalidates them."""
    import subprocess
    import sys
    from pathlib import Path

    store = Store(tmp_path)
    store.write_run(_run("r0"), {"metrics": _metrics("r0")})
    assert store.gap_table().run_id.tolist() == ["r0"]
    first = store.gap_table()
    first.loc[0, "run_id"] = "mutated by the caller"
    assert store.gap_table().run_id.tolist() == ["r0"]  # hits are copies
    store.write_run(_run("r1"), {"metrics": _metrics("r1")})
    assert sorted(store.gap_table().run_id) == ["r0", "r1"]
    code = (
        "import sys; from latentgap.store import Store; from tests.test_store import _run, _metrics; "
        "Store(sys.argv[1]).write_run(_run('r2'), {'metrics': _metrics('r2')})"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=root)
    assert sorted(Store(tmp_path).gap_table().run_id) == ["r0", "r1", "r2"]


def test_processes_starting_on_a_fresh_home_together_share_one_store(tmp_path):
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    start = time.time() + 3  # every process imports first, then all open the store in the same instant
    code = (
        f"import sys, time; sys.path.insert(0, {str(root)!r}); from latentgap.store import Store\n"
        f"while time.time() < {start}: pass\nStore(__import__('pathlib').Path({str(tmp_path)!r})); print('ok')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 and out.strip() == "ok" for p, (out, _) in zip(procs, outs)), outs
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]  # no half-built file left behind
    Store(tmp_path).write_run(_run(), {"metrics": _metrics()})


def test_a_store_created_meanwhile_by_another_process_is_kept(tmp_path):
    winner = Store(tmp_path)
    winner.write_run(_run(), {"metrics": _metrics()})
    Store(tmp_path)._create()  # as if this process lost the race: its fresh store must not replace the winner's
    assert list(Store(tmp_path).results().run_id.unique()) == ["r1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_a_filesystem_without_hard_links_still_gets_a_store(tmp_path, monkeypatch):
    import os

    def no_links(*_):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    Store(tmp_path).write_run(_run(), {"metrics": _metrics()})
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_per_sample_predictions_fidelity_and_noise_intervals(tmp_path):
    store = Store(tmp_path)
    predictions = [
        dict(run_id="r1", fold=f, arm=arm, sample_index=i, predicted=i % 2, confidence=0.5 + 0.1 * i)
        for f in (0, 1)
        for arm in ("latent", "image")
        for i in (3, 1)
    ]
    fidelity = [dict(run_id="r1", sample_index=i, psnr=30.0 - i, ssim=0.9) for i in (2, 0, 1)]
    noise = [
        dict(
            run_id="r1",
            space="latent",
            metric="auroc",
            value=v,
            ci_low=v - 0.1,
            ci_high=v + 0.1,
            fold=f,
            noise_level=1.0,
        )
        for f, v in ((0, 0.7), (1, 0.8))
    ]
    store.write_run(_run(), {"predictions": predictions, "sample_fidelity": fidelity, "metrics": noise})
    p = store.predictions("r1", fold=1)
    assert len(p) == 4 and list(p.arm) == ["image", "image", "latent", "latent"] and list(p.sample_index[:2]) == [1, 3]
    assert p.confidence.iloc[1] == pytest.approx(0.8) and len(store.predictions("r1")) == 8
    assert store.predictions("other").empty
    assert list(store.sample_fidelity("r1").psnr) == [30.0, 29.0, 28.0]  # in sample order
    curve = store.noise_curves("r1").iloc[0]
    assert (curve.value, curve.ci_low, curve.ci_high) == pytest.approx((0.75, 0.65, 0.85))  # means over folds
