"""`Dataset`: a labelled image set with group ids and an optional official split, whatever its source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """A labelled image set, single-label multi-class, with group ids (patients/studies)."""

    name: str
    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64 class index
    groups: np.ndarray  # (N,) group id; no group may cross splits
    class_names: list[str]
    synthetic: bool
    card: dict = field(default_factory=dict)
    split: np.ndarray | None = None  # (N,) official split "train" | "val" | "test" where the dataset has one
    values: np.ndarray | None = None  # (N,) continuous target where there is one (phantom-echo: EF in %)

    def __post_init__(self):
        n = len(self.images)
        assert self.images.ndim == 4 and self.images.dtype == np.float32, self.images.shape
        assert len(self.labels) == n and len(self.groups) == n
        assert self.split is None or len(self.split) == n

    def subset(self, idx: np.ndarray) -> Dataset:
        split = None if self.split is None else self.split[idx]
        values = None if self.values is None else self.values[idx]
        return Dataset(
            self.name,
            self.images[idx],
            self.labels[idx],
            self.groups[idx],
            self.class_names,
            self.synthetic,
            self.card,
            split,
            values,
        )

    @property
    def fingerprint(self) -> str:
        """Content hash of pixels + labels + groups: keys the latent cache."""
        h = hashlib.sha256()
        for a in (self.images, self.labels, self.groups):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]
