"""Dashboard under load: p50 / p95 latency of the main API endpoints with concurrent `gradio_client` clients.

The dashboard is the real one (`python -m latentgap serve`, worker included) on a free loopback port, over the
store section's workspace (1M SYNTHETIC metric rows). Each client first calls every endpoint once, untimed (warm-up:
the page load a user's first visit makes, which fills the server's caches), then calls every endpoint once per round,
in a shuffled order, for at most `rounds` rounds and `time_limit_s` seconds: load bounded in count and time. The
target (issue 18) is p95 <= P95_TARGET_MS for every endpoint.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
# api_name -> arguments, given the run the dashboard shows (the main endpoints of the Overview, Diagnose and per-run
# tabs; the Latent explorer's 20,000-point figure is timed by the page section).
ENDPOINTS = {
    "/gap_table": lambda run: ("balanced_accuracy", [], [], []),
    "/runs": lambda run: (),
    "/noise_curves": lambda run: (run, "balanced_accuracy"),
    "/classes": lambda run: (run,),
    "/reconstructions": lambda run: (run, "", 2),
    "/jobs": lambda run: (),
}


UNFINISHED = "unfinished at the time limit"
P95_TARGET_MS = 500.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(home: Path, log: Path, timeout_s: float = 180, attempts: int = 5) -> tuple[subprocess.Popen, str]:
    """Start the dashboard on a free loopback port; (process, url) once *this* process serves it.

    A port found free can be taken by another process before the dashboard binds it (tests and benches start
    servers side by side), so the dashboard must say it is serving on that URL, and a lost port is tried anew."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    deadline = time.monotonic() + timeout_s
    for _ in range(attempts):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with open(log, "wb") as f:
            proc = subprocess.Popen(
                [sys.executable, "-m", "latentgap", "serve", "--home", str(home), "--port", str(port)],
                env=env,
                cwd=ROOT,
                stdout=f,
                stderr=subprocess.STDOUT,
            )
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if url in log.read_text(errors="replace") and _accepts(port):
                return proc, url
            time.sleep(0.5)
        else:
            proc.terminate()
            raise TimeoutError(f"the dashboard did not start in {timeout_s} s: {log.read_text()[-1000:]}")
        said = log.read_text(errors="replace")
        if "in use" not in said:  # only a lost port (the CLI's busy-port error) is worth another try
            raise RuntimeError(f"the dashboard exited: {said[-1000:]}")
    raise RuntimeError(f"no free port after {attempts} tries: {said[-1000:]}")


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _client_loop(client, run_id: str, rounds: int, time_limit_s: float, seed: int, start: threading.Barrier) -> list:
    """(endpoint, seconds, error or None) per request; a request still running at the time limit is abandoned and
    recorded as unfinished, so the section never outlasts its limit."""
    from concurrent.futures import TimeoutError as FutureTimeout

    rng, calls = random.Random(seed), []
    client.predict(api_name="/runs")  # as the page load does: fills this session's run dropdown (choices are checked)
    for name in ENDPOINTS:  # warm-up, untimed; a failure here fails again in the timed rounds, where it is counted
        try:
            client.predict(*ENDPOINTS[name](run_id), api_name=name)
        except Exception:  # noqa: BLE001, S110
            pass
    start.wait()
    deadline = time.monotonic() + time_limit_s
    for _ in range(rounds):
        for name in rng.sample(list(ENDPOINTS), len(ENDPOINTS)):
            if time.monotonic() > deadline:
                return calls
            t0 = time.perf_counter()
            job = client.submit(*ENDPOINTS[name](run_id), api_name=name)
            try:
                job.result(timeout=max(deadline - time.monotonic(), 0.01))
                err = None
            except FutureTimeout:
                job.cancel()
                calls.append((name, time.perf_counter() - t0, UNFINISHED))
                return calls
            except Exception as e:  # noqa: BLE001 — a failed request is a measured outcome, counted below
                err = f"{name}: {type(e).__name__}: {str(e)[:200]}"
            calls.append((name, time.perf_counter() - t0, err))
    return calls


def latency(seconds: list[float]) -> dict:
    a = np.asarray(seconds) * 1000
    return dict(
        n=len(a),
        p50_ms=float(np.percentile(a, 50)),
        p95_ms=float(np.percentile(a, 95)),
        max_ms=float(a.max()),
        min_ms=float(a.min()),
    )


def run(
    home: Path,
    run_id: str,
    quick: bool,
    clients: int = 10,
    rounds: int | None = None,
    time_limit_s: float | None = None,
) -> dict:
    """Latency per endpoint and overall; `home` is a workspace whose store holds `run_id`."""
    from gradio_client import Client

    rounds = rounds or (4 if quick else 20)
    time_limit_s = time_limit_s or (60 if quick else 300)
    t0 = time.perf_counter()
    proc, url = serve(Path(home), Path(home) / "bench-serve.log")
    out = dict(clients=clients, rounds=rounds, time_limit_s=time_limit_s, startup_s=time.perf_counter() - t0)
    try:
        # ssl_verify=False: gradio_client builds a new httpx client per request, and with verification on each one
        # loads the CA bundle (~60 ms of the bench's own CPU per request, measured); the URL is plain-HTTP loopback
        connected = [Client(url, verbose=False, ssl_verify=False) for _ in range(clients)]
        barrier = threading.Barrier(clients)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            jobs = [
                pool.submit(_client_loop, c, run_id, rounds, time_limit_s, i, barrier) for i, c in enumerate(connected)
            ]
            calls_raw = [call for j in jobs for call in j.result()]
        out["wall_s"] = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    calls = [(name, s, err is None) for name, s, err in calls_raw]
    errors = sorted({err for _, _, err in calls_raw if err and err != UNFINISHED})
    out["unfinished"] = sum(err == UNFINISHED for _, _, err in calls_raw)
    n_errors = sum(err not in (None, UNFINISHED) for _, _, err in calls_raw)
    out["requests"], out["errors"], out["error_messages"] = len(calls), n_errors, errors[:10]
    out["endpoints"] = {
        name: latency([s for n, s, ok in calls if n == name and ok])
        for name in ENDPOINTS
        if any(n == name and ok for n, _, ok in calls)
    }
    out["all"] = latency([s for _, s, ok in calls if ok]) if any(ok for _, _, ok in calls) else None
    out["warmup_requests_per_client"] = 1 + len(ENDPOINTS)
    out["p95_target_ms"] = P95_TARGET_MS
    for e in out["endpoints"].values():
        e["passed"] = e["p95_ms"] <= P95_TARGET_MS
    out["endpoints_p95_over_500ms"] = [n for n, e in out["endpoints"].items() if not e["passed"]]
    out["verdict"] = verdict(out)
    return out


def verdict(out: dict) -> str:
    """One line: whether every endpoint met the p95 target, with no errors and nothing left unfinished."""
    missing = [n for n in ENDPOINTS if n not in out["endpoints"]]
    slow = out["endpoints_p95_over_500ms"]
    failures = [
        *([f"p95 over {P95_TARGET_MS:.0f} ms: {', '.join(slow)}"] if slow else []),
        *([f"{out['errors']} failed requests"] if out["errors"] else []),
        *([f"{out['unfinished']} unfinished at the time limit"] if out["unfinished"] else []),
        *([f"no answer from {', '.join(missing)}"] if missing else []),
    ]
    clients = f"{out['clients']} concurrent clients"
    if failures:
        return f"FAIL ({clients}): " + "; ".join(failures)
    return f"PASS: every endpoint answered with p95 <= {P95_TARGET_MS:.0f} ms under {clients}, no errors"
