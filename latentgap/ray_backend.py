"""Scale-out on Ray: the same diagnosis with encoding and training spread over a cluster (`--backend ray`).

`RayExecutor` is the executor seam's Ray side (executors.py): `diagnose()` calls it for two steps and nowhere else,
so both backends share every other step:
  1. encoding: Ray Data batch inference. The images become Arrow blocks of whole encode batches; `map_batches`
     runs them through a pool of `_Encoder` actors (one autoencoder each: one per GPU, else one per CPU) and
     writes latents and reconstructions as Parquet shards under <home>/cache/shards/<key>/. The driver reads
     the shards back into the arrays the in-process backend produces, and caches them the same way.
  2. training: the arms of a fold run as Ray tasks in parallel; the distilled arm starts once the image arm
     (its teacher) is done. Tasks return plain numpy and the driver writes the records, so the store sees one
     writer and the same rows as in-process.
Same seed, same numbers: tasks run `arms.train_arm` with one torch thread, encode batches hold the same
images as in-process, and shards are put back in index order. A killed worker costs time, not results: Ray Data
restarts a dead encoder actor and reruns its batches, Ray reruns a dead training task (`MAX_RETRIES`), and an
incomplete shard set is refused rather than used. Ray is optional (requirements-ray.txt), imported only here
and only when this backend is chosen.
A cancelled dashboard job stops the training and probe tasks within a second (the driver polls while it waits and
cancels the rest); the encoding step (`write_parquet`) runs to its end before the job stops.
"""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from latentgap import progress
from latentgap.arms import ARMS
from latentgap.errors import LatentgapError
from latentgap.spec import DiagnosisSpec

MAX_RETRIES = 3  # retries of a training or probe task whose worker died (Ray Data restarts encoder actors itself)
SHARD_IMAGES = 1024  # largest input block (one Parquet shard); smaller for small datasets, so every worker gets work


def require_ray():
    try:
        import ray
        import ray.data  # needs pyarrow: the [data] extra
    except ImportError as e:
        raise LatentgapError(
            f"--backend ray needs Ray ({e.name} is missing): pip install -r requirements-ray.txt"
        ) from None
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds, not after Ray's long connection retries, when nothing listens at HOST:PORT."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as e:
        raise LatentgapError(
            f"--ray-address {address}: no Ray cluster answers there ({e}); start one with `ray start --head` "
            "on that node, or leave --ray-address out for a local Ray"
        ) from None


@contextmanager
def session(address: str | None = None, num_cpus: int | None = None):
    """Join the cluster at `address` ('auto' or HOST:PORT), else start a local Ray with `num_cpus` (default: all).

    An already initialised Ray (a notebook, a test fixture) is used as it is; only a Ray started here is shut down.
    """
    ray = require_ray()
    if address and address != "auto":
        _check_reachable(address)
    if ray.is_initialized():
        yield ray
        return
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            # address="local": a new Ray on this machine, even where `ray start` left a cluster file in /tmp/ray
            ray.init(
                address="local",
                num_cpus=num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
    except ConnectionError:
        raise LatentgapError(
            f"--ray-address {address}: no Ray cluster let this driver in; start one with `ray start --head`, and for "
            "its token auth export RAY_AUTH_MODE=token with the head's ~/.ray/auth_token here (or leave "
            "--ray-address out for a local Ray)"
        ) from None
    ray.data.DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()


def _uses_gpus(spec: DiagnosisSpec) -> bool:
    ray = require_ray()
    return spec.device in ("auto", "cuda") and ray.cluster_resources().get("GPU", 0) > 0


def _task_resources(spec: DiagnosisSpec) -> dict:
    return dict(num_gpus=1, num_cpus=0) if _uses_gpus(spec) else dict(num_cpus=1)


# --- seam 1: encoding as Ray Data batch inference -----------------------------------------------------------
class _Encoder:
    """Ray Data actor: loads the autoencoder once, then encodes and decodes batches of images."""

    def __init__(self, spec: DiagnosisSpec, weights_hash: str):
        from latentgap.autoencoders.loading import load_autoencoder
        from latentgap.spec import resolve_device

        torch.set_num_threads(1)  # one CPU per actor; also what makes CPU results match in-process ones
        self.ae = load_autoencoder(spec.autoencoder, family=spec.family, vq_latent=spec.vq_latent)
        if self.ae.weights_hash != weights_hash:  # a node with another file under the same path
            raise LatentgapError(
                f"{spec.autoencoder} has weights {self.ae.weights_hash} on this Ray node, {weights_hash} on the "
                "driver; put the workspace on storage every node shares"
            )
        self.device = resolve_device(spec.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{index (B,), image (B, C, H, W) in [0, 1]} -> {index, latent (B, c, h, w), recon (B, C_ae, H, W) fp16}."""
        from latentgap.encode import encode_decode

        latents, recons = encode_decode(self.ae, batch["image"], len(batch["image"]), self.device)
        return {"index": batch["index"], "latent": latents, "recon": recons.astype(np.float16)}


def _blocks(images: np.ndarray, batch_size: int, workers: int) -> list:
    """Arrow tables of whole encode batches (so batches hold the same images as in-process), ≥ 4 per worker."""
    import pyarrow as pa
    from ray.data.extensions import ArrowTensorArray

    per_block = min(SHARD_IMAGES, max(1, len(images) // (4 * workers)))
    per_block = max(batch_size, per_block // batch_size * batch_size)
    return [
        pa.table(
            {
                "index": np.arange(s, min(s + per_block, len(images))),
                "image": ArrowTensorArray.from_numpy(np.ascontiguousarray(images[s : s + per_block])),
            }
        )
        for s in range(0, len(images), per_block)
    ]


def encode_shards(
    spec: DiagnosisSpec,
    images: np.ndarray,
    shard_dir: Path,
    batch_size: int,
    weights_hash: str,
    workers: int | None = None,
) -> None:
    """Encode (N, C, H, W) images in [0, 1] on the cluster into Parquet shards (index, latent, recon) in shard_dir.

    workers: actors in the pool (default: one per GPU of the cluster, else one per CPU).
    """
    ray = require_ray()
    gpus = _uses_gpus(spec)
    workers = workers or int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1))
    shutil.rmtree(shard_dir, ignore_errors=True)  # shards of an interrupted run are never mixed with new ones
    ds = ray.data.from_arrow(_blocks(images, batch_size, workers)).map_batches(
        _Encoder,
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_kwargs=dict(spec=spec, weights_hash=weights_hash),
        **_task_resources(spec),
    )
    ds.write_parquet(str(shard_dir))


def read_shards(shard_dir: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(latents (N, c, h, w) fp32, reconstructions (N, C, H, W) fp16) in index order; refuses a gap or a duplicate."""
    import pyarrow.parquet as pq

    require_ray()  # registers Ray's tensor type, so the columns read back as arrays
    table = pq.read_table(shard_dir)
    index = table["index"].to_numpy()
    if len(index) != n or not np.array_equal(np.sort(index), np.arange(n)):
        raise LatentgapError(
            f"shards in {shard_dir} hold {len(np.unique(index))} of {n} images ({len(index)} rows); "
            "delete that folder and rerun"
        )
    order = np.argsort(index)
    return table["latent"].combine_chunks().to_numpy()[order], table["recon"].combine_chunks().to_numpy()[order]


def cached_encode(
    spec: DiagnosisSpec, images: np.ndarray, key: str, cache_root: Path, batch_size: int, weights_hash: str
) -> tuple[np.ndarray, np.ndarray]:
    """`encode.cached_encode` on the cluster: same cache file (cache_root/latents/key.npz), same arrays."""
    from latentgap.encode import encode_with_cache

    shard_dir = Path(cache_root) / "shards" / key

    def encode() -> tuple[np.ndarray, np.ndarray]:
        encode_shards(spec, images, shard_dir, batch_size, weights_hash)
        return read_shards(shard_dir, len(images))

    return encode_with_cache(Path(cache_root) / "latents", key, encode)


# --- seam 2: the arms of a fold (and its probes) as Ray tasks -----------------------------------------------
def _train_task(fold, space: str, x: torch.Tensor, teacher_logits: np.ndarray | None = None) -> dict:
    from dataclasses import replace

    from latentgap.arms import train_arm
    from latentgap.spec import resolve_device

    torch.set_num_threads(1)
    return train_arm(replace(fold, device=resolve_device(fold.spec.device)), space, x, teacher_logits)


def _wait_one(ray, refs: list, on_wait) -> object:
    """The first of `refs` to finish; `on_wait()` runs every second meanwhile (a dashboard job's progress report,
    which raises once the job is cancelled: the caller's `finally` then cancels the remaining tasks)."""
    while True:
        ready, _ = ray.wait(refs, num_returns=1, timeout=1.0)
        if ready:
            return ready[0]
        on_wait()


def train_arms(fold, inputs: dict[str, torch.Tensor], step) -> Iterator[tuple[str, dict]]:
    """`arms.train_arms_local` on the cluster: every arm but the distilled ones at once, then those; yields
    (space, `train_arm` result) in completion order while the other tasks keep running. fold: an `arms.FoldTask`."""
    ray = require_ray()
    task = ray.remote(max_retries=MAX_RETRIES, **_task_resources(fold.spec))(_train_task)
    fold_ref, x_refs = ray.put(fold), {name: ray.put(x) for name, x in inputs.items()}
    pending = {}

    def submit(space, teacher=None):
        step(f"train {space}")
        pending[task.remote(fold_ref, space, x_refs[ARMS[space].input], teacher)] = space

    for space in fold.arms or fold.spec.arms():
        if not ARMS[space].distill:
            submit(space)
    total, done = len(fold.arms or fold.spec.arms()), 0
    try:
        while pending:
            ready = _wait_one(ray, list(pending), lambda n=done: progress.report(n / total, f"{n}/{total} arms done"))
            space, out, done = pending.pop(ready), ray.get(ready), done + 1
            if space == "image":  # the teacher is trained: its students can start
                for student in (s for s in (fold.arms or fold.spec.arms()) if ARMS[s].distill):
                    submit(student, out["teacher_logits"])
            yield space, out
    finally:  # a cancelled job or a failed arm leaves no orphan tasks on a shared cluster
        for ref in pending:
            ray.cancel(ref, force=True)


def probe_probas(jobs: dict, seed: int) -> dict:
    """`probe_proba` for every (name -> (kind, x_train, y_train, x_test, n_classes)) job as a Ray task."""
    from latentgap.classifiers.probes import probe_proba

    ray = require_ray()
    task = ray.remote(max_retries=MAX_RETRIES, num_cpus=1)(probe_proba)
    refs = {name: task.remote(*job, seed) for name, job in jobs.items()}
    waiting = list(refs.values())
    try:
        while waiting:
            waiting.remove(_wait_one(ray, waiting, lambda: progress.report(1 - len(waiting) / len(refs))))
    finally:  # a cancelled job leaves no orphan tasks
        for ref in waiting:
            ray.cancel(ref, force=True)
    return dict(zip(refs, ray.get(list(refs.values())), strict=True))


class RayExecutor:
    """The executor seam on Ray: encoding as Ray Data batch inference, arms and probes as parallel Ray tasks."""

    def __init__(self, spec: DiagnosisSpec):
        require_ray()
        self.spec = spec

    def session(self):
        return session(self.spec.ray_address)

    def encode(
        self, ae, images: np.ndarray, key: str, cache_root: Path, batch_size: int, device: str
    ) -> tuple[np.ndarray, np.ndarray]:
        if not ae.has_decoder:
            raise LatentgapError(
                f"{ae.name} is encoder-only: run it with --backend local (Ray shards hold reconstructions)"
            )
        return cached_encode(self.spec, images, key, cache_root, batch_size, ae.weights_hash)

    def train_arms(self, task, inputs: dict[str, torch.Tensor], step) -> Iterator[tuple[str, dict]]:
        return train_arms(task, inputs, step)

    def probe_probas(self, jobs: dict, seed: int) -> dict:
        return probe_probas(jobs, seed)
