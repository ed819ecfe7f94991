"""Ray against the in-process backend at a real size: the same diagnosis run both ways, one torch thread per arm in
both, and every stored table compared exactly (tests/test_ray_backend.py does the same at 200 images in CI).

    python scripts/ray_vs_local.py --out /tmp/ray-vs-local            # the default run: zoo:taef2, 598 chest X-rays
    python scripts/ray_vs_local.py --ae zoo:sd-vae-mini --dataset phantom-chest --out DIR   # 2,400 images, ~2 CPU-h

Prints per table the rows compared and the largest absolute difference of its numeric columns (0: identical).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's latentgap, wherever it is run from

from latentgap import ray_backend
from latentgap.diagnose import diagnose
from latentgap.spec import DiagnosisSpec
from latentgap.tools.backend_parity import stored_records


def largest_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    """Max |a − b| over numeric columns of two equally shaped tables (inf if their shape or text differs)."""
    if a.shape != b.shape:
        return float("inf")
    numeric = a.select_dtypes("number").columns
    text = [c for c in a.columns if c not in numeric]
    if not a[text].astype(str).equals(b[text].astype(str)):
        return float("inf")
    diff = (a[numeric].astype(float) - b[numeric].astype(float)).abs().to_numpy()
    return float(np.nanmax(diff)) if diff.size and not np.isnan(diff).all() else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ae", default="zoo:taef2")
    ap.add_argument("--dataset", default="chest-xray-pneumonia")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--out", required=True, help="two workspaces are made here: local/ and ray/")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as every Ray worker runs
    spec = dict(autoencoder=args.ae, dataset=args.dataset, profile=args.profile, device="cpu", seed=0)
    runs, seconds = {}, {}
    for backend in ("local", "ray"):
        home = Path(args.out) / backend
        t0 = time.perf_counter()
        if backend == "ray":
            with ray_backend.session(num_cpus=2):
                runs[backend] = diagnose(DiagnosisSpec(**spec, backend="ray"), home)
        else:
            runs[backend] = diagnose(DiagnosisSpec(**spec), home)
        seconds[backend] = time.perf_counter() - t0
        print(f"{backend}: run {runs[backend]} in {seconds[backend]:.0f} s", flush=True)
    local, ray = (stored_records(Path(args.out) / b, runs[b]) for b in ("local", "ray"))
    worst = 0.0
    for name in local:
        d = largest_difference(local[name], ray[name])
        worst = max(worst, d)
        print(f"{name}: {len(local[name])} rows local, {len(ray[name])} ray, largest difference {d:g}")
    print(f"{'IDENTICAL' if worst == 0 else 'DIFFERENT'}: largest difference over every stored table {worst:g}")


if __name__ == "__main__":
    main()
