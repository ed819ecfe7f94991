"""Where a diagnosis's heavy steps run: the executor seam between `diagnose()` and a backend.

An executor does three things for `diagnose()`: encode the images (cached by key), train the arms of one fold, and
fit the probes. `LocalExecutor` runs them in this process; `ray_backend.RayExecutor` spreads them over a Ray cluster.
`diagnose()` only calls `make_executor(spec)` and the executor's methods, so it has no backend branches, and the Ray
backend imports the core (arms, encode, probes), never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from latentgap.arms import FoldTask
    from latentgap.spec import DiagnosisSpec


class LocalExecutor:
    """Every step in this process, on the spec's device."""

    def __init__(self, spec: DiagnosisSpec):
        self.spec = spec

    def session(self):
        """A context the whole diagnosis runs in (nothing to start in-process)."""
        return nullcontext()

    def encode(
        self, ae, images: np.ndarray, key: str, cache_root: Path, batch_size: int, device: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(latents (N, c, h, w), reconstructions (N, C, H, W) in [0, 1]) of images (N, C, H, W) in [0, 1]."""
        from latentgap.encode import cached_encode

        return cached_encode(ae, images, key, Path(cache_root) / "latents", batch_size, device)

    def train_arms(
        self, task: FoldTask, inputs: dict[str, torch.Tensor], step: Callable[[str], None]
    ) -> Iterator[tuple[str, dict]]:
        """(arm name, `arms.train_arm` result) for every arm of the fold, the image arm (the teacher) first."""
        from latentgap.arms import train_arms_local

        return train_arms_local(task, inputs, step)

    def probe_probas(self, jobs: dict, seed: int) -> dict:
        """`probe_proba` of every (name -> (kind, x_train, y_train, x_test, n_classes)) job."""
        from latentgap import progress
        from latentgap.classifiers.probes import probe_proba

        out = {}
        for i, (name, job) in enumerate(jobs.items()):
            progress.report(i / len(jobs), name)  # one scikit-learn fit is not interruptible: check between them
            out[name] = probe_proba(*job, seed)
        return out


def make_executor(spec: DiagnosisSpec):
    """The executor `spec.backend` names: "local" (in-process) or "ray" (a Ray cluster; optional dependency)."""
    if spec.backend == "ray":
        from latentgap.ray_backend import RayExecutor

        return RayExecutor(spec)
    return LocalExecutor(spec)
