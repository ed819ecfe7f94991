"""Scale-out: encoding throughput of `diagnose --backend ray` with 1 vs N Ray workers (local Ray, same images).

The real Ray path (`ray_backend.encode_shards`: Ray Data actors -> Parquet shards) on the SYNTHETIC phantom-chest
benchmark with a small zoo AE. Skipped, with the reason, where Ray is not installed (requirements-ray.txt).
`scripts/ray_sizing.py` reuses `encode_once` for the README's dataset-size table.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

AE, RESOLUTION, BATCH = "zoo:taesd-mini", 32, 32


def folder_bytes(path: Path, pattern: str = "*") -> int:
    return sum(f.stat().st_size for f in Path(path).rglob(pattern) if f.is_file())


def encode_once(spec, images, batch: int, weights_hash: str, workers: int | None, where: Path | None = None) -> dict:
    """One cold Ray encoding of `images` into a fresh cache folder: seconds, shard bytes, .npz cache bytes.

    workers None: the diagnose path (shards, read back, cached); else shards only with a fixed actor pool."""
    from latentgap import ray_backend

    with tempfile.TemporaryDirectory(dir=where) as root:
        t0 = time.perf_counter()
        if workers is None:
            ray_backend.cached_encode(spec, images, "sizing", Path(root), batch, weights_hash)
        else:
            ray_backend.encode_shards(spec, images, Path(root) / "shards" / "sizing", batch, weights_hash, workers)
        seconds = time.perf_counter() - t0
        return dict(
            seconds=seconds,
            images_per_s=len(images) / seconds,
            shard_bytes=folder_bytes(Path(root) / "shards", "*.parquet"),
            cache_bytes=folder_bytes(Path(root) / "latents", "*.npz"),
        )


def run(workdir: Path, quick: bool, workers: int = 2, n_images: int | None = None, reps: int | None = None) -> dict:
    from latentgap import ray_backend
    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.datasets import registry
    from latentgap.errors import LatentgapError
    from latentgap.spec import DiagnosisSpec
    from latentgap.tools.bench.measure import ratio, summarize

    try:
        ray_backend.require_ray()
    except LatentgapError as e:
        return dict(skipped=str(e))
    n_images, reps = n_images or (1_000 if quick else 5_000), reps or (2 if quick else 3)
    spec = DiagnosisSpec(AE, "phantom-chest", device="cpu", backend="ray")
    weights_hash = load_autoencoder(AE).weights_hash
    images = registry.load("phantom-chest", RESOLUTION, n_images, seed=0).images
    rates = {}
    with ray_backend.session(num_cpus=workers):
        for w in sorted({1, workers}):
            runs = [encode_once(spec, images, BATCH, weights_hash, w, Path(workdir)) for _ in range(reps)]
            rates[w] = summarize([r["images_per_s"] for r in runs], "images/s")
    return dict(
        ae=AE,
        resolution=RESOLUTION,
        images=len(images),
        workers=workers,
        images_per_s={str(w): f for w, f in rates.items()},
        worker_ratio=ratio(rates[workers], rates[1]),
    )
