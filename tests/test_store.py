import gzip
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from latentgap import LatentgapError
from latentgap.records import DIFFERENCES, arm_quantity
from latentgap.store import DB_NAME, SCHEMA_VERSION, TABLE_COLUMNS, Store


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
                **arm_quantity(space),
                metric="balanced_accuracy",
                value=v,
                ci_low=v - 0.05,
                ci_high=v + 0.05,
                fold=0,
            )
        )
    rows.append(
        dict(
            run_id=run_id,
            **arm_quantity("gap"),
            metric="balanced_accuracy",
            value=0.18,
            ci_low=0.1,
            ci_high=0.25,
            fold=0,
        )
    )
    rows.append(
        dict(
            run_id=run_id,
            **arm_quantity("fidelity_loss"),
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
    assert set(results.arm.dropna()) == {"image", "reconstruction", "latent"}
    assert set(results.quantity) == {"score", "gap", "fidelity_loss"}
    assert (results.autoencoder == "zoo:x").all() and (results.seed == 0).all()
    gap = store.gap_table().iloc[0]
    assert gap.image == 0.8 and gap.latent == 0.6 and gap.gap == 0.18 and gap.gap_ci_low == 0.1
    assert store.run_spec("r1")["spec"] == {"a": 1}


def test_a_failed_write_leaves_nothing(tmp_path):
    store = Store(tmp_path)
    store.write_run(_run("r0"), {"metrics": _metrics("r0")})
    bad = _metrics("r1") + [dict(run_id="r1", arm="x", quantity="score", metric="m", value="not a number")]
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


def _replicate_rows(run_level_ci=None):
    """4 replicates (seeds 0, 1 x folds 0, 1) whose gaps are 0.1, 0.3, 0.2, 0.2, each with a narrow interval of its
    own, plus the run-level gap row diagnose writes when `run_level_ci` is given."""
    rows = []
    for seed, fold, rec in ((0, 0, 0.7), (0, 1, 0.9), (1, 0, 0.8), (1, 1, 0.8)):
        for space, v in (("image", 0.85), ("reconstruction", rec), ("latent", 0.6), ("gap", rec - 0.6)):
            rows.append(
                dict(
                    run_id="r",
                    **arm_quantity(space),
                    metric="balanced_accuracy",
                    value=v,
                    ci_low=v - 0.01,
                    ci_high=v + 0.01,
                    fold=fold,
                    seed=seed,
                )
            )
    if run_level_ci:
        rows.append(
            dict(
                run_id="r",
                **arm_quantity("gap"),
                metric="balanced_accuracy",
                value=0.2,
                ci_low=run_level_ci[0],
                ci_high=run_level_ci[1],
            )
        )
    return rows


def test_gap_table_reports_mean_and_spread_over_replicates(tmp_path):
    Store(tmp_path).write_run(_run("r"), {"metrics": _replicate_rows((0.05, 0.35))})
    row = Store(tmp_path).gap_table().iloc[0]
    assert row.n_replicates == 4 and row.n_folds == 2 and row.seeds == "0,1" and row.folds == "0,1"
    assert row.gap == pytest.approx(0.2) and row.gap_replicate_std == pytest.approx(0.08165, abs=1e-4)
    assert row.reconstruction_replicate_std == pytest.approx(0.08165, abs=1e-4) and row.latent_replicate_std == 0
    # the run-level interval of the mean, not the average of the replicates' bounds (0.19, 0.21)
    assert (row.gap_ci_low, row.gap_ci_high) == (0.05, 0.35)


def test_several_replicates_without_a_run_level_interval_show_none(tmp_path):
    """A store written before replicate intervals existed: averaging its folds' bounds is not an interval."""
    Store(tmp_path).write_run(_run("r"), {"metrics": _replicate_rows()})
    row = Store(tmp_path).gap_table().iloc[0]
    assert row.gap == pytest.approx(0.2) and pd.isna(row.gap_ci_low) and pd.isna(row.gap_ci_high)


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


def _v4_store(tmp_path):
    """A store written by the release before v5 (a real smoke run, projections trimmed): `space` column."""
    home = tmp_path / "home"
    home.mkdir()
    gz = Path(__file__).parent / "fixtures" / "store_v4.duckdb.gz"
    (home / "latentgap.duckdb").write_bytes(gzip.decompress(gz.read_bytes()))
    return home


def test_a_v4_store_migrates_and_shows_the_same_results(tmp_path):
    home = _v4_store(tmp_path)
    con = duckdb.connect(str(home / "latentgap.duckdb"), read_only=True)
    old = con.execute("SELECT space, metric, value, fold, noise_level FROM metrics").df()
    old_training = con.execute("SELECT space, fold, best_epoch FROM training ORDER BY space").df()
    con.close()
    assert len(old) > 50 and {"gap", "latent", "reconstruction"} <= set(old.space)
    store = Store(home)
    new = store.results()
    assert (home / "latentgap.v4.duckdb").exists()  # the backup the migration copies aside
    assert len(new) == len(old)
    diffs, fidelity = new[new.quantity.isin(list(DIFFERENCES))], new[new.quantity == "fidelity"]
    assert diffs.arm.isna().all() and set(diffs.quantity) == set(old.space) & set(DIFFERENCES)
    assert set(fidelity.metric) == {"psnr", "ssim"} and fidelity.arm.isna().all()
    con = duckdb.connect(str(home / "latentgap.duckdb"), read_only=True)
    seeds = con.execute("SELECT quantity = 'fidelity' AS fid, list(DISTINCT seed) FROM metrics GROUP BY ALL").fetchall()
    con.close()
    assert dict(seeds) == {True: [None], False: [int(store.runs().seed.iloc[0])]}  # each row has its run's seed
    scores = new[new.quantity == "score"]
    expected = old[~old.space.isin(list(DIFFERENCES)) & ~old.metric.isin(["psnr", "ssim"])]
    key = ["arm", "metric", "fold", "noise_level"]
    got = scores.sort_values(key, na_position="first")[key + ["value"]].reset_index(drop=True)
    want = expected.rename(columns={"space": "arm"}).sort_values(key, na_position="first")[key + ["value"]]
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)
    old_gap = old[(old.space == "gap") & (old.metric == "balanced_accuracy")].value.mean()
    assert store.gap_table().iloc[0].gap == pytest.approx(old_gap)
    training = store.training()
    assert training.sort_values("arm")[["arm", "fold", "best_epoch"]].values.tolist() == old_training.values.tolist()
    assert set(store.class_metrics(new.run_id.iloc[0]).arm) >= {"image", "latent"}
    con = duckdb.connect(str(home / "latentgap.duckdb"), read_only=True)
    assert store.learning_curve().empty  # v6: the learning-curve table, empty
    for table in ("metrics", "class_metrics", "confusion", "training", "learning_curve"):  # as a new store has them
        cols = [
            r[0]
            for r in con.execute(
                f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
            ).fetchall()
        ]
        assert cols == TABLE_COLUMNS[table], table
    con.close()


def test_a_v5_store_gains_an_empty_learning_curve_table(tmp_path):
    """v6 added `learning_curve`: a v5 store (the table absent, version 5) keeps its runs and gains the table."""
    Store(tmp_path).write_run(_run(), {"metrics": _metrics()})
    con = duckdb.connect(str(tmp_path / DB_NAME))
    con.execute("DROP TABLE learning_curve")
    con.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    con.close()
    store = Store(tmp_path)
    assert (tmp_path / "latentgap.v5.duckdb").exists() and SCHEMA_VERSION == 6  # the backup copied aside
    con = duckdb.connect(str(tmp_path / DB_NAME), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("6",)
    con.close()
    assert store.learning_curve().empty and len(store.results()) == len(_metrics())
    row = dict(arm="latent", quantity="score", fold=0, seed=0, train_fraction=0.5, n_train=40)
    store.write_run(_run("r2"), {"learning_curve": [dict(run_id="r2", **row, metric="balanced_accuracy", value=0.6)]})
    assert store.learning_curve("r2").n_train.tolist() == [40] and store.learning_curve("r1").empty


def test_rows_with_an_unknown_column_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no column"):
        Store(tmp_path).write_run(_run("r"), {"metrics": [dict(run_id="r", space="image", metric="m", value=1.0)]})
    assert Store(tmp_path).runs().empty


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
            arm="latent",
            quantity="score",
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


def test_convergence_is_the_training_table_without_its_histories(tmp_path):
    store = Store(_v4_store(tmp_path))
    light, full = store.convergence(), store.training()
    key = ["run_id", "arm", "seed", "fold"]
    assert "history" not in light and len(light) == len(full) > 0
    by_key = lambda df: df.sort_values(key)[list(light.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(by_key(light), by_key(full))


def test_the_gap_report_is_derived_once_per_database_state(tmp_path):
    """`Store.gap_report` is `gaps.gap_report` of the stored runs, and a new run is in it at once."""
    from latentgap.gaps import NO_CONTROL, gap_report

    store = Store(tmp_path)
    store.write_run(_run("r1"), {"metrics": _metrics("r1")})
    first = store.gap_report()
    pd.testing.assert_frame_equal(first, gap_report(store.gap_table(), store.convergence()))
    assert first.flag.tolist() == [NO_CONTROL]
    first.loc[0, "paper_gap"] = 99.0  # a caller's edit does not reach the next caller
    assert store.gap_report().paper_gap.tolist() == [0.18]
    store.write_run({**_run("r2"), "autoencoder": "zoo:null-s2d"}, {"metrics": _metrics("r2")})
    report = store.gap_report().set_index("run_id")
    assert report.loc["r1", "control_run_id"] == "r2" and report.loc["r1", "flag"] is None  # read against it at once


def _counting(monkeypatch, method: str, pause_s: float = 0.3) -> list:
    """Count calls of a Store method (and slow each down, so concurrent callers overlap); the method still runs."""
    import time

    calls, real = [], getattr(Store, method)

    def counted(self, *args):
        calls.append(args)
        time.sleep(pause_s)
        return real(self, *args)

    monkeypatch.setattr(Store, method, counted)
    return calls


def _together(fn, n: int = 8) -> list:
    """fn() on n threads released at once; their results (or exceptions) in order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    start = threading.Barrier(n)

    def call(_):
        start.wait()
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 — compared by the test
            return e

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def test_concurrent_identical_queries_share_one_read(tmp_path, monkeypatch):
    """Ten clients opening the page at once: one DuckDB read per distinct query, the others wait for its result."""
    store = Store(tmp_path)
    store.write_run(_run("r0"), {"metrics": _metrics("r0")})  # a write: the next read is a miss
    reads = _counting(monkeypatch, "_read")
    tables = _together(lambda: Store(tmp_path).gap_table())
    assert len(reads) == 1 and all(t.run_id.tolist() == ["r0"] for t in tables)
    tables[0].loc[0, "run_id"] = "changed by one caller"
    assert tables[1].run_id.tolist() == ["r0"]  # each caller has its own copy
    failed = _together(lambda: Store(tmp_path)._query("SELECT * FROM no_such_table"))
    assert len(reads) == 2 and all(isinstance(e, duckdb.CatalogException) for e in failed)  # one read, one error each


def test_concurrent_stores_check_the_schema_once(tmp_path, monkeypatch):
    Store(tmp_path).write_run(_run("r0"), {"metrics": _metrics("r0")})  # the file changed: the next Store checks it
    checks = _counting(monkeypatch, "_migrate")
    _together(lambda: Store(tmp_path))
    assert len(checks) == 1


def test_runs_version_follows_every_run_and_ignores_jobs(tmp_path):
    a, b, empty = tmp_path / "a", tmp_path / "b", tmp_path / "empty"
    for folder in (a, b, empty):
        folder.mkdir()
    for home, first in ((a, "r1"), (b, "r2")):  # same count, same highest id, different runs
        Store(home).write_run(_run(first), {"metrics": _metrics(first)})
        Store(home).write_run(_run("r9"), {"metrics": _metrics("r9")})
    assert Store(a).runs_version() != Store(b).runs_version()
    before = Store(a).runs_version()
    Store(a).update_job(Store(a).submit_job({"a": 1}, "a job"), progress=0.5)
    assert Store(a).runs_version() == before
    Store(a).write_run(_run("r0"), {"metrics": _metrics("r0")})  # sorts before the others
    assert Store(a).runs_version() != before and Store(empty).runs_version() == "0:"
