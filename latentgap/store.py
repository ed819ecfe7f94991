"""The only module that touches DuckDB: schema, migrations, writes and every named query the UI needs.

One file `latentgap.duckdb` under the workspace. A run and all its records are written in one
transaction, so readers never see half a run. Connections are short-lived (open, work, close) so a CLI
diagnosis and the dashboard take turns on the file instead of locking each other out.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from latentgap import records
from latentgap.errors import LatentgapError

SCHEMA_VERSION = 6  # v2: jobs; v3: projections; v4: training; v5: `space` split into `arm` + `quantity`,
# per-row seed, per-sample predictions and fidelity (the explorer); v6: learning_curve (an older store gains it empty)
DB_NAME = "latentgap.duckdb"

SCHEMA = "\n".join(
    [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);",
        """CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, autoencoder VARCHAR, family VARCHAR, ae_hash VARCHAR,
    dataset VARCHAR, synthetic BOOLEAN, profile VARCHAR, seed INTEGER, device VARCHAR,
    spec JSON, versions JSON, timing JSON, summary JSON
);""",
        """CREATE TABLE IF NOT EXISTS jobs (
    job_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, updated_at TIMESTAMP, status VARCHAR, label VARCHAR,
    spec JSON, progress DOUBLE, step VARCHAR, run_id VARCHAR, error VARCHAR, attempts INTEGER, worker_pid INTEGER
);""",
        *(records.create_sql(table) for table in records.TABLES),
    ]
)
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
MAX_ATTEMPTS = 3  # a job whose worker died this often is failed rather than retried again
# a job's timing for the dashboard's elapsed time and time left (Unix seconds), added in place to any store: nullable
# columns only the job list reads, so no schema version or backup (an older latentgap reads such a store, but its
# dashboard, which inserts 12 values per job, cannot queue jobs in it)
JOB_TIMING = """
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS started_s DOUBLE;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS step_started_s DOUBLE;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS step_progress DOUBLE;
"""

TABLE_COLUMNS = {table: records.columns(table) for table in records.TABLES}


# DuckDB refuses two connections to one file with different configurations (read-only vs read-write) in
# one process; the dashboard answers requests on several threads, so connections to a file take turns.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _reason(msg: str, path: Path) -> str:
    """The first line of DuckDB's error, naming the file without its folder (messages may reach remote users)."""
    first = (msg.splitlines() or ["unknown error"])[0]
    return first.replace(str(path), path.name).replace(str(path.parent), "<home>").split(" Error: ")[-1][:160]


def _rollback(con) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:  # a failed COMMIT has already rolled the transaction back
        pass


def _file_lock(path: Path) -> threading.RLock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(str(path.resolve()), threading.RLock())


# Dashboard requests each open a Store and run a few small queries: migrating once per file and process and
# answering repeated queries from memory while the files are unchanged keeps a request to milliseconds (bench).
_MIGRATED: dict[str, tuple] = {}  # path -> file state right after this process migrated it
_QUERY_CACHE: OrderedDict = OrderedDict()  # (path, sql, params, file state) -> DataFrame
_IN_FLIGHT: dict = {}  # key -> Future of the query (or migration) running for it now
_CACHE_GUARD = threading.Lock()
CACHE_ENTRIES, CACHE_MAX_ROWS = 256, 200_000


def coalesced(key, compute):
    """compute() once per key at a time: callers that ask for the same key while it runs wait for its result (or
    its exception) instead of running it again. Ten dashboard clients opening the page at once then cost one
    DuckDB query each, not ten queries queued behind the file's lock."""
    with _CACHE_GUARD:
        running = _IN_FLIGHT.get(key)
        if running is None:
            mine = _IN_FLIGHT[key] = Future()
    if running is not None:
        return running.result()
    try:
        result = compute()
        mine.set_result(result)
        return result
    except BaseException as e:
        mine.set_exception(e)
        raise
    finally:
        with _CACHE_GUARD:
            _IN_FLIGHT.pop(key, None)


def _file_state(path: Path) -> tuple:
    """(mtime, size, inode) of the database file and its write-ahead log: what any write or replacement changes."""
    out = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def write_table(df: pd.DataFrame, path: Path, fmt: str) -> Path:
    """A DataFrame to CSV or Parquet with DuckDB's own writers (no pyarrow needed)."""
    assert fmt in ("csv", "parquet"), fmt
    con = duckdb.connect()
    try:
        con.register("frame", df)
        con.execute(
            f"COPY frame TO '{Path(path).as_posix()}' (FORMAT {fmt.upper()}{', HEADER' if fmt == 'csv' else ''})"
        )
    finally:
        con.close()
    return Path(path)


SPACE_TABLES = ("metrics", "class_metrics", "confusion", "training")  # had a `space` column before v5
_DIFFERENCE_LIST = ", ".join(f"'{q}'" for q in records.DIFFERENCES)
_SEED_OF_RUN = "(SELECT seed FROM runs r WHERE r.run_id = old.run_id)"  # a v4 run had one seed
_FROM_SPACE = {  # v4 `space` (and metric) -> v5 columns, as SQL over the old table
    "arm": f"CASE WHEN space IN ({_DIFFERENCE_LIST}) OR metric IN ('psnr', 'ssim') THEN NULL ELSE space END",
    "quantity": f"CASE WHEN space IN ({_DIFFERENCE_LIST}) THEN space WHEN metric IN ('psnr', 'ssim') "
    f"THEN '{records.FIDELITY}' ELSE '{records.SCORE}' END",
    "seed": f"CASE WHEN metric IN ('psnr', 'ssim') THEN NULL ELSE {_SEED_OF_RUN} END",
}


def _split_space_column(con, table: str) -> None:
    """Rebuild a pre-v5 table in the v5 layout: `space` becomes `arm` (+ `quantity` for metrics) and each row gets its
    run's seed; values unchanged."""
    cols = [
        r[0]
        for r in con.execute(
            f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
        ).fetchall()
    ]
    if "space" not in cols:
        return
    mapping = (
        _FROM_SPACE if table == "metrics" else {"arm": "space", "seed": "seed" if table == "training" else _SEED_OF_RUN}
    )
    select = ", ".join(f"{mapping.get(c, c)} AS {c}" for c in TABLE_COLUMNS[table])
    con.execute(f"ALTER TABLE {table} RENAME TO {table}_v4")
    con.execute(records.create_sql(table))
    con.execute(f"INSERT INTO {table} SELECT {select} FROM {table}_v4 old")
    con.execute(f"DROP TABLE {table}_v4")


class Store:
    def __init__(self, home: Path, cache: bool = True):
        self.path = Path(home) / DB_NAME
        self.cache = cache  # reuse query results while the database files are unchanged (the dashboard's case)
        if not self.path.exists():
            self._create()
        if _MIGRATED.get(str(self.path)) != _file_state(self.path):  # unchanged since we migrated it: skip
            coalesced(("migrate", str(self.path)), self._check_schema)

    def _check_schema(self) -> None:
        """Migrate the file unless it is unchanged since this process last did (another thread may just have)."""
        if _MIGRATED.get(str(self.path)) == _file_state(self.path):
            return
        with self._connect() as con:
            self._migrate(con)
        _MIGRATED[str(self.path)] = _file_state(self.path)

    def file_state(self) -> tuple:
        """What every write to the store changes (the files' mtime, size and inode): equal states, no write between."""
        return _file_state(self.path)

    # --- connection -------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, read_only: bool = False, timeout_s: float = 30.0):
        """Open the database, waiting (up to `timeout_s`) while another process holds the write lock."""
        lock = _file_lock(self.path)
        if not lock.acquire(timeout=timeout_s):
            raise LatentgapError(f"the store {self.path.name} is busy in this process; retry in a moment")
        try:
            con = self._open(read_only, timeout_s)
            try:
                yield con
            finally:
                con.close()
        finally:
            lock.release()

    def _open(self, read_only: bool, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only and self.path.exists())
            except duckdb.IOException as e:
                msg = str(e)
                if "lock" in msg.lower() and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                if "lock" in msg.lower():
                    raise LatentgapError(
                        f"the store {self.path.name} is busy (another latentgap process is writing); retry when it finishes"
                    ) from None
                if any(m in msg for m in ("Permission denied", "Read-only file system")):  # not corrupt: unwritable
                    raise LatentgapError(
                        f"the store {self.path.name} is not writable ({_reason(msg, self.path)}); make --home "
                        "writable or use another --home"
                    ) from None
                raise LatentgapError(
                    f"the store {self.path.name} cannot be opened ({_reason(msg, self.path)}); it may be corrupt: "
                    "move it aside and rerun (results are rebuilt by re-running diagnose)"
                ) from None

    def _create(self) -> None:
        """Build a new store aside and link it into place: processes that start on a fresh --home at the same
        moment then never open a half-written file (link, unlike rename, refuses to replace a winner's store)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.new")
        try:
            con = duckdb.connect(str(tmp))
            try:
                self._migrate(con)
            finally:
                con.close()
            self._link_into_place(tmp)
        except (duckdb.IOException, OSError) as e:
            raise LatentgapError(
                f"the store cannot be created in {self.path.parent} ({str(e)[:160]}); make --home "
                "writable (with free space) or use another --home"
            ) from None
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)

    def _link_into_place(self, tmp: Path) -> None:
        try:
            os.link(tmp, self.path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:  # a filesystem without hard links: rename, racy again but only there
            if not self.path.exists():
                os.replace(tmp, self.path)

    def _migrate(self, con) -> None:
        """Create the schema; an older store is first copied aside (`latentgap.v1.duckdb`), then given the new
        tables; a newer or unversioned one is refused untouched."""
        try:  # a truncated file opens, then fails on its first read
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            version = None
            if "meta" in tables:
                row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = row[0] if row else None
        except duckdb.Error as e:
            raise LatentgapError(
                f"the store {self.path.name} cannot be read ({_reason(str(e), self.path)}); it may be corrupt: "
                "move it aside and rerun (results are rebuilt by re-running diagnose)"
            ) from None
        foreign = tables - {"meta", "runs", "jobs", *TABLE_COLUMNS}
        if (version is not None and not version.isdigit()) or (version is None and foreign):
            raise LatentgapError(
                f"the store {self.path.name} is not a latentgap store (tables {sorted(foreign)[:3]}, schema version "
                f"{version!r}); move it aside or use another --home"
            )
        if version and int(version) > SCHEMA_VERSION:
            raise LatentgapError(
                f"the store {self.path.name} has schema v{version}, newer than this latentgap (v{SCHEMA_VERSION}); "
                "upgrade latentgap or use another --home"
            )
        if version and int(version) < SCHEMA_VERSION:  # older stores lack tables and may have a `space` column
            con.execute("CHECKPOINT")  # the file alone then holds every committed row: copy it as the backup
            shutil.copyfile(self.path, self.path.with_name(f"{self.path.stem}.v{version}{self.path.suffix}"))
        con.execute("BEGIN TRANSACTION")  # tables and version together: a crash here leaves the store as it was
        con.execute(SCHEMA)
        for table in SPACE_TABLES:
            _split_space_column(con, table)
        if version is None:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif int(version) < SCHEMA_VERSION:
            con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        con.execute(JOB_TIMING)
        con.execute("COMMIT")

    # --- writes -----------------------------------------------------------------------------------------
    def write_run(self, run: dict, tables: dict[str, list[dict]]) -> None:
        """Insert one run and its records (metrics, class_metrics, confusion) in one transaction."""
        with self._connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    "INSERT INTO runs VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run["run_id"],
                        run["autoencoder"],
                        run["family"],
                        run["ae_hash"],
                        run["dataset"],
                        run["synthetic"],
                        run["profile"],
                        run["seed"],
                        run["device"],
                        json.dumps(run["spec"]),
                        json.dumps(run["versions"]),
                        json.dumps(run["timing"]),
                        json.dumps(run.get("summary", {})),
                    ],
                )
                for table, rows in tables.items():
                    if rows:
                        cols = TABLE_COLUMNS[table]
                        as_dicts = [r if isinstance(r, dict) else vars(r) for r in rows]  # dicts or `records` rows
                        if unknown := set().union(*as_dicts) - set(cols):
                            raise ValueError(f"{table} has no column {sorted(unknown)}; columns: {cols}")
                        df = pd.DataFrame(as_dicts, columns=cols)  # noqa: F841 (read by DuckDB)
                        names = ", ".join(cols)
                        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM df")
                con.execute("COMMIT")
            except (duckdb.IOException, duckdb.TransactionException) as e:  # disk full, file too large, read-only
                # (a write or the COMMIT failed): DuckDB keeps the last committed state
                _rollback(con)
                raise self._write_failed(e) from None
            except BaseException:
                _rollback(con)
                raise

    def _write_failed(self, e: Exception) -> LatentgapError:
        return LatentgapError(
            f"cannot write to the store {self.path.name} ({_reason(str(e), self.path)}); nothing of this write was kept and "
            "earlier results are intact: free disk space or make --home writable, then rerun"
        )

    # --- queries ----------------------------------------------------------------------------------------
    def _query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read query; with `cache`, an identical query on unchanged database files is answered from memory
        (every write, from any process, changes the file's or its WAL's size or mtime, so a hit is never stale);
        concurrent misses of one query share one DuckDB read (`coalesced`)."""
        return self._cached((sql, tuple(params or [])), lambda: self._read(sql, params))

    def _read(self, sql: str, params: list | None = None) -> pd.DataFrame:
        with self._connect(read_only=True) as con:
            return con.execute(sql, params or []).df()

    def _cached(self, what: tuple, compute) -> pd.DataFrame:
        """`compute()`, or with `cache` its frame from memory while the database files are unchanged (`what` names
        the query or derived table); concurrent misses of one key share one computation."""
        if not self.cache:  # DuckDB itself, every time (the store bench)
            return compute()
        key = (str(self.path), *what, _file_state(self.path))
        with _CACHE_GUARD:
            hit = _QUERY_CACHE.get(key)
            if hit is not None:
                _QUERY_CACHE.move_to_end(key)
                return hit.copy()
        return coalesced(key, lambda: self._compute_into_cache(key, compute)).copy()

    def _compute_into_cache(self, key: tuple, compute) -> pd.DataFrame:
        df = compute()
        if len(df) <= CACHE_MAX_ROWS:
            with _CACHE_GUARD:
                _QUERY_CACHE[key] = df
                while len(_QUERY_CACHE) > CACHE_ENTRIES:
                    _QUERY_CACHE.popitem(last=False)
        return df

    def results(self, run_id: str | None = None) -> pd.DataFrame:
        """Every metric record (of one run when given) joined with its run: the `results --json` contract."""
        where = "WHERE m.run_id = ?" if run_id else ""
        return self._query(
            f"""SELECT m.run_id, r.autoencoder, r.family, r.dataset, r.synthetic, r.profile,
                       CASE WHEN m.fold IS NULL AND m.quantity != 'fidelity' THEN NULL  -- a run-level row: all seeds
                            ELSE coalesce(m.seed, r.seed) END AS seed, m.fold,
                       m.arm, m.quantity, m.metric, m.value, m.ci_low, m.ci_high, m.noise_level, r.created_at
                FROM metrics m JOIN runs r USING (run_id) {where}
                ORDER BY r.created_at, m.run_id, m.quantity, m.arm NULLS FIRST, m.metric""",
            [run_id] if run_id else [],
        )

    def runs(self) -> pd.DataFrame:
        return self._query(
            """SELECT run_id, created_at, autoencoder, family, dataset, synthetic, profile, seed, device,
                      timing, summary FROM runs ORDER BY created_at DESC"""
        )

    def run_spec(self, run_id: str) -> dict:
        df = self._query("SELECT spec, versions, timing, summary FROM runs WHERE run_id = ?", [run_id])
        if df.empty:
            raise LatentgapError(f"no run {run_id!r} in the store; see `results` for run ids")
        return {k: json.loads(df.iloc[0][k]) for k in ("spec", "versions", "timing", "summary")}

    def class_names(self, run_id: str) -> list[str]:
        """The class names of a run's dataset, in label order (the per-run views' legends and axes)."""
        return self.run_spec(run_id)["summary"].get("class_names", [])

    def gap_table(self, metric: str = "balanced_accuracy") -> pd.DataFrame:
        """One row per run: image / reconstruction / latent value, gap and fidelity loss — means over the run's
        (seed, fold) replicates, with their spread (`*_replicate_std`, null for one), `n_replicates`, `n_folds`,
        `folds`, `seeds` and `n_images` (the images diagnosed, after --max-samples). A difference's interval is the stored run-level one (two-level bootstrap over replicates
        and test patients); a run without one (written before replicates existed) shows its single replicate's
        interval, or none when it has several (averaging their bounds would not be an interval)."""
        return self._query(
            """WITH rep AS (
                 SELECT run_id, coalesce(arm, quantity) AS key, avg(value) AS value,
                        stddev_samp(value) AS replicate_std, count(*) AS n_replicates,
                        count(DISTINCT fold) AS n_folds, array_to_string(list_sort(list(DISTINCT fold)), ',') AS folds,
                        array_to_string(list_sort(list(DISTINCT seed) FILTER (WHERE seed IS NOT NULL)), ',') AS seeds,
                        CASE WHEN count(*) = 1 THEN min(ci_low) END AS ci_low,
                        CASE WHEN count(*) = 1 THEN min(ci_high) END AS ci_high
                 FROM metrics WHERE metric = ? AND noise_level IS NULL AND quantity != 'fidelity' AND fold IS NOT NULL
                 GROUP BY run_id, coalesce(arm, quantity)),
               run_level AS (
                 SELECT run_id, quantity AS key, ci_low, ci_high FROM metrics
                 WHERE metric = ? AND noise_level IS NULL AND fold IS NULL AND quantity != 'fidelity'),
               m AS (
                 SELECT rep.* REPLACE (
                          CASE WHEN l.run_id IS NULL THEN rep.ci_low ELSE l.ci_low END AS ci_low,
                          CASE WHEN l.run_id IS NULL THEN rep.ci_high ELSE l.ci_high END AS ci_high)
                 FROM rep LEFT JOIN run_level l USING (run_id, key))
               SELECT r.run_id, r.autoencoder, r.family, r.dataset, r.synthetic, r.profile, r.seed,
                      max(CASE WHEN key = 'image' THEN value END) AS image,
                      max(CASE WHEN key = 'reconstruction' THEN value END) AS reconstruction,
                      max(CASE WHEN key = 'latent' THEN value END) AS latent,
                      max(CASE WHEN key = 'gap' THEN value END) AS gap,
                      max(CASE WHEN key = 'gap' THEN ci_low END) AS gap_ci_low,
                      max(CASE WHEN key = 'gap' THEN ci_high END) AS gap_ci_high,
                      max(CASE WHEN key = 'fidelity_loss' THEN value END) AS fidelity_loss,
                      max(CASE WHEN key = 'fidelity_loss' THEN ci_low END) AS fidelity_loss_ci_low,
                      max(CASE WHEN key = 'fidelity_loss' THEN ci_high END) AS fidelity_loss_ci_high,
                      max(CASE WHEN key = 'matched_gap' THEN value END) AS matched_gap,
                      max(CASE WHEN key = 'matched_gap' THEN ci_low END) AS matched_gap_ci_low,
                      max(CASE WHEN key = 'matched_gap' THEN ci_high END) AS matched_gap_ci_high,
                      max(CASE WHEN key = 'matched_fidelity_loss' THEN value END) AS matched_fidelity_loss,
                      max(CASE WHEN key = 'image' THEN replicate_std END) AS image_replicate_std,
                      max(CASE WHEN key = 'reconstruction' THEN replicate_std END) AS reconstruction_replicate_std,
                      max(CASE WHEN key = 'latent' THEN replicate_std END) AS latent_replicate_std,
                      max(CASE WHEN key = 'gap' THEN replicate_std END) AS gap_replicate_std,
                      max(CASE WHEN key = 'latent' THEN n_replicates END) AS n_replicates,
                      max(CASE WHEN key = 'latent' THEN n_folds END) AS n_folds,
                      max(CASE WHEN key = 'latent' THEN folds END) AS folds,
                      max(CASE WHEN key = 'latent' THEN seeds END) AS seeds,
                      TRY_CAST(json_extract(r.summary, '$.n_images') AS INTEGER) AS n_images,
                      r.created_at
               FROM m JOIN runs r USING (run_id)
               GROUP BY r.run_id, r.autoencoder, r.family, r.dataset, r.synthetic, r.profile, r.seed, r.summary,
                        r.created_at
               ORDER BY r.created_at DESC""",
            [metric, metric],
        )

    def noise_curves(self, run_id: str | None = None) -> pd.DataFrame:
        """Per-noise-level metrics: (run, arm, metric, noise_level) -> mean over folds of the value and of its
        bootstrap interval (null where none was stored)."""
        where = "AND m.run_id = ?" if run_id else ""
        return self._query(
            f"""SELECT m.run_id, r.autoencoder, r.dataset, m.arm, m.metric, m.noise_level, avg(m.value) AS value,
                       avg(m.ci_low) AS ci_low, avg(m.ci_high) AS ci_high
                FROM metrics m JOIN runs r USING (run_id) WHERE m.noise_level IS NOT NULL {where}
                GROUP BY ALL ORDER BY m.run_id, m.arm, m.metric, m.noise_level""",
            [run_id] if run_id else [],
        )

    def structure(self) -> pd.DataFrame:
        """Latent-structure statistics of every run, joined with the run's identity."""
        return self._query(
            """SELECT s.run_id, r.autoencoder, r.family, r.dataset, r.profile, r.seed, s.statistic, s.channel, s.value
               FROM structure s JOIN runs r USING (run_id) ORDER BY r.created_at, s.statistic, s.channel"""
        )

    def class_metrics(self, run_id: str) -> pd.DataFrame:
        return self._query(
            """SELECT arm, fold, class_index, class_name, support, accuracy FROM class_metrics WHERE run_id = ?
               ORDER BY arm, fold, class_index""",
            [run_id],
        )

    def confusion(self, run_id: str) -> pd.DataFrame:
        return self._query(
            """SELECT arm, fold, true_class, pred_class, count FROM confusion WHERE run_id = ?
               ORDER BY arm, fold, true_class, pred_class""",
            [run_id],
        )

    def paired_scores(
        self, metric: str = "balanced_accuracy", a: str = "reconstruction", b: str = "latent"
    ) -> pd.DataFrame:
        """Clean test scores of arms a and b paired by (run, seed, fold) replicate, with what identifies the AE (its
        weights hash and latent options), the run's profile and age: the input of `stats.paired_test`."""
        return self._query(
            """SELECT r.run_id, r.autoencoder, r.ae_hash, json_extract_string(r.spec, '$.latent_norm') AS latent_norm,
                      json_extract_string(r.spec, '$.vq_latent') AS vq_latent, r.dataset, r.profile,
                      coalesce(m.seed, r.seed) AS seed, m.fold, r.created_at,
                      max(CASE WHEN m.arm = ? THEN m.value END) AS a, max(CASE WHEN m.arm = ? THEN m.value END) AS b
               FROM metrics m JOIN runs r USING (run_id)
               WHERE m.metric = ? AND m.noise_level IS NULL AND m.quantity = 'score' AND m.arm IN (?, ?)
               GROUP BY ALL HAVING a IS NOT NULL AND b IS NOT NULL ORDER BY r.created_at, m.fold""",
            [a, b, metric, a, b],
        )

    def training(self, run_id: str | None = None) -> pd.DataFrame:
        """Each trained classifier's history: epochs run, best epoch, convergence flag, per-epoch loss and
        validation balanced accuracy (JSON)."""
        where = "WHERE t.run_id = ?" if run_id else ""
        return self._query(
            f"""SELECT t.run_id, r.autoencoder, r.dataset, r.profile, t.arm, t.seed, t.fold, t.epochs_run,
                       t.best_epoch, t.converged, t.history
                FROM training t JOIN runs r USING (run_id) {where} ORDER BY r.created_at, t.run_id, t.fold, t.arm""",
            [run_id] if run_id else [],
        )

    def gap_report(self, metric: str = "balanced_accuracy") -> pd.DataFrame:
        """`gaps.gap_report` of every stored run (the `results --kind gap` rows: paper, matched and excess gaps,
        null control, convergence, flag), derived once per database state: the Overview reads it on every request."""
        from latentgap.gaps import gap_report

        return self._cached(("gap_report", metric), lambda: gap_report(self.gap_table(metric), self.convergence()))

    def convergence(self) -> pd.DataFrame:
        """Each trained classifier's convergence, without its history: what the gap report and the headline read,
        light enough for every Overview request."""
        return self._query(
            """SELECT run_id, arm, seed, fold, epochs_run, best_epoch, converged FROM training
               ORDER BY run_id, arm, seed, fold"""
        )

    def learning_curve(self, run_id: str | None = None, metric: str = "balanced_accuracy") -> pd.DataFrame:
        """Learning-curve rows (of one run when given) with the run's identity: per replicate and, with fold and seed
        null, the run-level mean over replicates with its interval; an arm's score or a difference (arm null)."""
        where = "AND l.run_id = ?" if run_id else ""
        return self._query(
            f"""SELECT l.run_id, r.autoencoder, r.dataset, r.synthetic, r.profile, l.arm, l.quantity, l.fold, l.seed,
                       l.train_fraction, l.n_train, l.metric, l.value, l.ci_low, l.ci_high, r.created_at
                FROM learning_curve l JOIN runs r USING (run_id) WHERE l.metric = ? {where}
                ORDER BY r.created_at, l.run_id, l.quantity, l.arm NULLS FIRST, l.train_fraction, l.fold, l.seed""",
            [metric, run_id] if run_id else [metric],
        )

    def projections(self, run_id: str) -> pd.DataFrame:
        """2-D UMAP coordinates of one run's samples per space (`latent`, `image`), with label, split and the
        prediction of that space's classifier (null outside the test split)."""
        return self._query(
            """SELECT fold, space, sample_index, x, y, label, split, predicted FROM projections WHERE run_id = ?
               ORDER BY space, sample_index""",
            [run_id],
        )

    def predictions(self, run_id: str, fold: int | None = None) -> pd.DataFrame:
        """Each arm's prediction on each test sample of a run (of one fold when given): predicted class and
        confidence (the top softmax probability)."""
        where = "AND fold = ?" if fold is not None else ""
        return self._query(
            f"""SELECT fold, arm, sample_index, predicted, confidence FROM predictions WHERE run_id = ? {where}
                ORDER BY fold, arm, sample_index""",
            [run_id, fold] if fold is not None else [run_id],
        )

    def sample_fidelity(self, run_id: str) -> pd.DataFrame:
        """Reconstruction PSNR (dB) and SSIM of every sample of a run (none for an encoder-only AE)."""
        return self._query(
            "SELECT sample_index, psnr, ssim FROM sample_fidelity WHERE run_id = ? ORDER BY sample_index", [run_id]
        )

    def fidelity(self) -> pd.DataFrame:
        """Reconstruction PSNR / SSIM per run."""
        return self._query(
            """SELECT r.run_id, r.autoencoder, r.dataset, m.metric, m.value FROM metrics m JOIN runs r USING (run_id)
               WHERE m.quantity = 'fidelity' ORDER BY r.created_at DESC"""
        )

    # --- jobs: the dashboard's queue; the worker process claims, reports progress and finishes them ---------
    def submit_job(self, spec: dict, label: str) -> str:
        import uuid

        job_id = f"job-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:12]}"
        with self._connect() as con:
            try:
                con.execute(
                    """INSERT INTO jobs (job_id, created_at, updated_at, status, label, spec, progress, step, attempts)
                       VALUES (?, now(), now(), 'queued', ?, ?, 0, 'queued', 0)""",
                    [job_id, label, json.dumps(spec)],
                )
            except duckdb.IOException as e:
                raise self._write_failed(e) from None
        return job_id

    def claim_job(self, worker_pid: int) -> tuple[str, dict] | None:
        """Atomically mark the oldest queued job running for this worker; (job_id, spec) or None."""
        now = time.time()
        with self._connect() as con:
            row = con.execute(
                """UPDATE jobs SET status = 'running', worker_pid = ?, attempts = attempts + 1, updated_at = now(),
                          step = 'starting', started_s = ?, step_started_s = ?, step_progress = 0
                   WHERE job_id = (SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY created_at, job_id LIMIT 1)
                   RETURNING job_id, spec""",
                [worker_pid, now, now],
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def update_job(self, job_id: str, **fields) -> bool:
        """Set some of status, progress, step, run_id, error, step_progress, step_started_s (Unix seconds) while the
        job is not cancelled; False when it was cancelled (or is gone), so one write also checks for a cancel."""
        assert set(fields) <= {"status", "progress", "step", "run_id", "error", "step_progress", "step_started_s"}
        assert fields.get("status", "queued") in JOB_STATES, fields
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._connect() as con:
            row = con.execute(
                f"UPDATE jobs SET {sets}, updated_at = now() WHERE job_id = ? AND status != 'cancelled' RETURNING job_id",
                [*fields.values(), job_id],
            ).fetchone()
        return row is not None

    def job_status(self, job_id: str) -> str | None:
        df = self._query("SELECT status FROM jobs WHERE job_id = ?", [job_id])
        return None if df.empty else df.status.iloc[0]

    def cancel_job(self, job_id: str) -> bool:
        """Cancel a queued or running job (a running one stops within a batch of its loops); False if it had ended."""
        with self._connect() as con:
            row = con.execute(
                """UPDATE jobs SET status = 'cancelled', step = 'cancelled', updated_at = now()
                   WHERE job_id = ? AND status IN ('queued', 'running') RETURNING job_id""",
                [job_id],
            ).fetchone()
        return row is not None

    def retry_job(self, job_id: str) -> bool:
        """Queue a failed or cancelled job again; False if it is not in one of those states."""
        with self._connect() as con:
            row = con.execute(
                """UPDATE jobs SET status = 'queued', step = 'queued', progress = 0, error = NULL, attempts = 0,
                          updated_at = now() WHERE job_id = ? AND status IN ('failed', 'cancelled') RETURNING job_id""",
                [job_id],
            ).fetchone()
        return row is not None

    def recover_jobs(self, alive: callable) -> list[str]:
        """After a crash: running jobs whose worker is gone go back to the queue (cached latents make the rerun
        cheap), or fail once they have been tried MAX_ATTEMPTS times. Returns the ids touched."""
        touched = []
        with self._connect() as con:
            rows = con.execute("SELECT job_id, worker_pid, attempts FROM jobs WHERE status = 'running'").fetchall()
            for job_id, pid, attempts in rows:
                if pid is not None and alive(pid):
                    continue
                if attempts >= MAX_ATTEMPTS:
                    con.execute(
                        """UPDATE jobs SET status = 'failed', updated_at = now(), error = ?
                                   WHERE job_id = ?""",
                        [f"the worker stopped {attempts} times while running it", job_id],
                    )
                else:
                    con.execute(
                        """UPDATE jobs SET status = 'queued', step = 'requeued after a worker stop',
                                   worker_pid = NULL, updated_at = now() WHERE job_id = ?""",
                        [job_id],
                    )
                touched.append(job_id)
        return touched

    def jobs(self) -> pd.DataFrame:
        return self._query(
            """SELECT job_id, status, round(100 * progress) AS progress_pct, step, label, run_id, error, attempts,
                      created_at, updated_at, started_s, step_started_s, step_progress
               FROM jobs ORDER BY created_at DESC, job_id DESC"""
        )

    def active_job(self, spec: dict) -> str | None:
        """The id of a queued or running job with exactly this spec, if any (so a repeated submit adds nothing)."""
        df = self._query("SELECT job_id, spec FROM jobs WHERE status IN ('queued', 'running') ORDER BY created_at")
        wanted = json.loads(json.dumps(spec))  # as stored: tuples become lists
        return next((j for j, s in zip(df.job_id, df.spec) if json.loads(s) == wanted), None)

    def runs_version(self) -> str:
        """A cheap fingerprint of the stored runs: their count and a hash of every run id with its write time. It
        changes whenever a run is written, removed or rewritten (and not for a job's progress), so the dashboard
        refreshes its views, and keys its cached views (`ui.refresh.cached_view`), on it."""
        n, digest = self._query(
            """SELECT count(*) AS n, coalesce(md5(string_agg(run_id || '@' || created_at, ',' ORDER BY run_id)), '')
                      AS digest FROM runs"""
        ).iloc[0]
        return f"{n}:{digest[:16]}"
