"""What every scenario shares: the `Outcome` record, a finished run to protect, child processes and job polling."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from latentgap.errors import LatentgapError

ROOT = Path(__file__).resolve().parents[3]
SMOKE_SPEC = dict(autoencoder="zoo:sd-vae-mini", dataset="phantom-chest", profile="smoke", max_samples=60, device="cpu")
SEED_RUN = "finished-before-the-fault"


@dataclass
class Outcome:
    name: str
    kind: str  # "fault" | "input"
    passed: bool = True
    detail: list[str] = field(default_factory=list)  # one line per check, failed ones start with "FAILED"
    tried: int = 0  # faults injected or inputs tried
    handled: int = 0  # faults survived or inputs handled correctly
    refused: int = 0  # hostile inputs refused with a LatentgapError (a part of `handled`)
    lost: int = 0  # records of finished runs missing or changed afterwards
    skipped: str = ""  # why the scenario could not run here (then it counts nowhere)
    seconds: float = 0.0

    def check(self, ok: bool, what: str, *, count: bool = True) -> bool:
        """Record one check; `count`: it is one fault or input of the totals."""
        self.detail.append(what if ok else f"FAILED {what}")
        self.passed &= bool(ok)
        self.tried += count
        self.handled += count and bool(ok)
        return bool(ok)


# --- helpers: a finished result to protect, child processes, waiting on jobs -------------------------------------
def seed_finished_run(home: Path) -> list[tuple]:
    """Write one finished run (three metric records) and return its records as stored (see `_records`)."""
    from latentgap.store import Store

    run = dict(
        run_id=SEED_RUN,
        autoencoder="zoo:sd-vae-mini",
        family="sd-vae",
        ae_hash="0" * 16,
        dataset="phantom-chest",
        synthetic=True,
        profile="smoke",
        seed=0,
        device="cpu",
        spec={},
        versions={},
        timing={"total": 1.0},
    )
    metrics = [
        dict(
            run_id=SEED_RUN,
            arm=s,
            quantity="score",
            metric="balanced_accuracy",
            value=v,
            ci_low=v - 0.1,
            ci_high=v + 0.1,
            fold=0,
            noise_level=None,
        )
        for s, v in (("image", 0.8), ("reconstruction", 0.7), ("latent", 0.6))
    ]
    store = Store(home)
    store.write_run(run, {"metrics": metrics})
    return _records(store)


def _records(store) -> list[tuple]:
    """The seeded run's records as sorted plain tuples (independent of the dtypes other runs give the columns)."""
    import pandas as pd

    df = store.results(SEED_RUN)
    cols = ["autoencoder", "dataset", "arm", "quantity", "metric", "fold", "value", "ci_low", "ci_high", "noise_level"]
    plain = lambda v: None if v is None or pd.isna(v) else v.item() if hasattr(v, "item") else v
    return sorted(tuple(plain(v) for v in row) for row in df[cols].itertuples(index=False))


def lost_records(home: Path, snapshot: list[tuple]) -> int:
    """How many of `snapshot`'s records are no longer in the store exactly as they were."""
    from latentgap.store import Store

    try:
        now = set(_records(Store(home)))
    except LatentgapError:
        return len(snapshot)
    return sum(r not in now for r in snapshot)


def python(code: str, *args: str, limit_bytes: int | None = None, **kw) -> subprocess.Popen:
    """A child `python -c code args` in the repository; `limit_bytes` caps the size of files it writes (a full disk)."""

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the cap then fails with EFBIG, as on a full disk

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True, preexec_fn=cap if limit_bytes else None, **kw
    )  # noqa: PLW1509 (no threads here)


def run_python(code: str, *args: str, limit_bytes: int | None = None, timeout: float = 300) -> tuple[int, str]:
    proc = python(code, *args, limit_bytes=limit_bytes, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def job_row(home: Path, job_id: str) -> dict:
    from latentgap.store import Store

    return Store(home).jobs().set_index("job_id").loc[job_id].to_dict()


def wait_job(home: Path, job_id: str, until: Callable[[dict], bool], timeout: float, proc=None) -> dict:
    """Poll the job's row until `until(row)`; stops early if `proc` (its worker) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = job_row(home, job_id)
        if until(row) or (proc is not None and proc.poll() is not None):
            return row
        time.sleep(0.05)
    return job_row(home, job_id)


def latent_caches(home: Path) -> list[Path]:
    return sorted((home / "cache" / "latents").glob("*.npz"))


def caches_complete(home: Path, n: int) -> bool:
    """Every latent cache file holds all `n` latents and reconstructions (a half-written one would not load)."""
    from latentgap.cache import load_npz

    files = [load_npz(p) for p in latent_caches(home)]
    return all(f is not None and len(f["latents"]) == len(f["recons"]) == n for f in files)


def expect(
    out: Outcome,
    label: str,
    fn: Callable[[], object],
    expect: str,
    valid: Callable[[object], bool] | None = None,
    says: tuple[str, ...] = (),
):
    """One input. expect "refuse": a LatentgapError, whose message is one line and contains each of `says`; "read": a
    result passing `valid`; "either": one or the other. Any other exception is a finding."""
    try:
        result = fn()
    except LatentgapError as e:
        message = str(e)
        missing = [s for s in says if s not in message]
        clear = "\n" not in message and not missing
        why = "" if clear else f" MISSING {missing}" if missing else " NOT ONE LINE"
        shown = message[:140] if clear else message
        out.refused += out.check(expect in ("refuse", "either") and clear, f"{label}: refused ({shown}){why}")
        return
    except Exception as e:  # noqa: BLE001 (the point: any other exception is a finding)
        out.check(False, f"{label}: {type(e).__name__} instead of a clear refusal ({str(e)[:140]})")
        return
    ok = expect in ("read", "either") and (valid is None or valid(result))
    out.check(ok, f"{label}: {'read' if expect != 'refuse' else 'ACCEPTED, should be refused'}")


def tiny_checkpoint(path: Path, **overrides) -> Path:
    """A random-weight KL-f8 autoencoder (SD layout, 4 latent channels, ~0.1 M parameters) as one safetensors file."""
    import torch
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = AutoencoderKL(
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[8, 16, 16, 16],
        layers_per_block=1,
        norm_num_groups=8,
        latent_channels=4,
    )
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file({**sd, **overrides}, str(path))
    return path
