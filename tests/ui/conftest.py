import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve():
    """Start `python -m latentgap serve` on a free loopback port for a workspace; yields its URL."""
    procs = []

    def start(home: Path) -> str:
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "latentgap", "serve", "--home", str(home), "--port", str(port)],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return url
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode()[-2000:])
                time.sleep(0.5)
        raise TimeoutError("dashboard did not start in 120 s")

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=30)
