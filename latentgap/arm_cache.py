"""Reuse of the arms that do not depend on the autoencoder (`image`, `image-s2d`) across autoencoders.

Diagnosing five AEs on one dataset would otherwise train the same image classifier five times. An arm's result is
cached under a key made of everything it depends on: the exact input tensor, labels and splits, the profile, seed,
device type, backbone weights, the training code's source and the library versions. Any change retrains; a hit
returns the stored result with `reused: True`, so a run says which of its arms it did not train itself.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from latentgap.cache import atomic_savez, load_npz

if TYPE_CHECKING:
    import torch

    from latentgap.arms import Arm, FoldTask

AE_INDEPENDENT_INPUTS = ("image", "image-s2d")  # what these arms see is computed from the images alone


@functools.cache
def _code_fingerprint(arms_module: ModuleType) -> str:
    """The source of the modules that decide what an arm computes: editing them invalidates every entry."""
    import torch

    from latentgap import __version__
    from latentgap.classifiers import models, train

    source = "".join(inspect.getsource(m) for m in (arms_module, models, train))
    return hashlib.sha256(f"{__version__}|{torch.__version__}|{source}".encode()).hexdigest()


def _weights_id(path: str | None) -> str:
    if not path:
        return "random-init"
    st = os.stat(path)
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"


def arm_key(fold: FoldTask, name: str, arm: Arm, x: torch.Tensor, arms_module: ModuleType) -> str | None:
    """The cache key of arm `name` of `fold` on input x, or None when the arm depends on the autoencoder.
    arms_module: `latentgap.arms`, passed in (it calls this module: importing it here would be a cycle)."""
    if fold.cache_dir is None or arm.input not in AE_INDEPENDENT_INPUTS or arm.distill:
        return None
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x.numpy(), dtype=np.float32))  # the buffer itself: no copy of the input
    h.update(np.asarray(fold.labels, dtype=np.int64).tobytes())
    for split in fold.splits:
        h.update(np.asarray(split, dtype=np.int64).tobytes() + b"|")
    h.update(np.asarray(fold.eval_sigmas, dtype=np.float64).tobytes())
    weights = fold.spec.image_weights if arm.input == "image" else fold.spec.latent_weights
    context = [name, repr(arm), repr(fold.profile), fold.spec.seed, fold.device.split(":")[0], fold.n_classes]
    h.update(
        json.dumps(
            [*context, _weights_id(weights if arm.pretrained else None), _code_fingerprint(arms_module)]
        ).encode()
    )
    return h.hexdigest()[:32]


def load(fold: FoldTask, key: str) -> dict | None:
    """The stored result of a `train_arm` call, or None."""
    stored = load_npz(Path(fold.cache_dir) / f"{key}.npz")
    if stored is None:
        return None
    meta = json.loads(str(stored.pop("meta")))
    sigma_logits = {float(k[len("sigma:") :]): v for k, v in stored.items() if k.startswith("sigma:")}
    teacher = stored.get("teacher_logits")
    return dict(meta, logits=stored["logits"], teacher_logits=teacher, sigma_logits=sigma_logits, reused=True)


def save(fold: FoldTask, key: str, out: dict) -> None:
    arrays = {"logits": out["logits"], **{f"sigma:{s!r}": v for s, v in out["sigma_logits"].items()}}
    if out["teacher_logits"] is not None:
        arrays["teacher_logits"] = out["teacher_logits"]
    meta = {k: out[k] for k in ("init_reports", "training", "seconds")}
    atomic_savez(Path(fold.cache_dir) / f"{key}.npz", meta=np.array(json.dumps(meta)), **arrays)
