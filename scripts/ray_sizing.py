"""Sizing of `diagnose --backend ray`: how encoding time, shard bytes and store bytes grow with the dataset, and the
encoding throughput of 1 vs 2 Ray workers. Prints the Markdown table of README "Scale-out with Ray".

    OMP_NUM_THREADS=1 .venv/bin/python scripts/ray_sizing.py --sizes 1000 10000 100000 --workers 2

Images are the SYNTHETIC phantom-chest benchmark at --resolution px (generated, seed 0), encoded through the real
Ray path (`ray_backend.cached_encode`: Ray Data actors -> Parquet shards -> arrays -> the .npz cache). Store bytes
are those of the records that grow with the dataset (the Latent explorer's projections, 2 rows per image) written
through `Store.write_run` into a fresh store; the fixed per-run records add about the size of one quick run's store.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentgap import ray_backend
from latentgap.autoencoders.loading import load_autoencoder
from latentgap.datasets import registry
from latentgap.spec import DiagnosisSpec
from latentgap.store import Store
from latentgap.tools.bench.ray_workers import encode_once


def store_bytes(n: int) -> int:
    """Bytes of a fresh store after one run holding n images' projection rows (2 spaces x n)."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as home:
        store = Store(Path(home))
        empty = store.path.stat().st_size
        xy = rng.standard_normal((2, n, 2))
        rows = [
            dict(
                run_id="sizing",
                fold=0,
                space=space,
                sample_index=i,
                x=float(xy[s, i, 0]),
                y=float(xy[s, i, 1]),
                label=int(i % 5),
                split=("train", "val", "test")[i % 3],
                predicted=None,
            )
            for s, space in enumerate(("latent", "image"))
            for i in range(n)
        ]
        run = dict(
            run_id="sizing",
            autoencoder="sizing",
            family="",
            ae_hash="",
            dataset="sizing",
            synthetic=True,
            profile="quick",
            seed=0,
            device="cpu",
            spec={},
            versions={},
            timing={},
            summary={},
        )
        store.write_run(run, {"projections": rows})
        return store.path.stat().st_size - empty


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--ae", default="zoo:taesd-mini")
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray (actors in the pool)")
    ap.add_argument("--throughput-images", type=int, default=2000, help="images for the 1-vs-N-worker comparison")
    ap.add_argument("--out", default="ray-sizing.json")
    args = ap.parse_args()

    spec = DiagnosisSpec(args.ae, "phantom-chest", device="cpu", backend="ray")
    weights_hash = load_autoencoder(args.ae).weights_hash
    result = dict(ae=args.ae, resolution=args.resolution, batch=args.batch, workers=args.workers, sizes={})
    with ray_backend.session(num_cpus=args.workers):
        for n in args.sizes:
            images = registry.load("phantom-chest", args.resolution, n, seed=0).images
            assert len(images) == n, (len(images), n)
            result["sizes"][n] = dict(
                encode_once(spec, images, args.batch, weights_hash, None, Path.cwd()), store_bytes=store_bytes(n)
            )
            print(n, result["sizes"][n], flush=True)
        images = registry.load("phantom-chest", args.resolution, args.throughput_images, seed=0).images
        result["throughput"] = {
            w: encode_once(spec, images, args.batch, weights_hash, w, Path.cwd())["images_per_s"]
            for w in sorted({1, args.workers})
        }
        print("throughput", result["throughput"], flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("| images | encode (s) | images/s | shards | .npz cache | store (projections) |\n|---|---|---|---|---|---|")
    for n, r in result["sizes"].items():
        print(
            f"| {n:,} | {r['seconds']:.1f} | {r['images_per_s']:.0f} | {r['shard_bytes'] / 1e6:.1f} MB | "
            f"{r['cache_bytes'] / 1e6:.1f} MB | {r['store_bytes'] / 1e6:.2f} MB |"
        )


if __name__ == "__main__":
    main()
