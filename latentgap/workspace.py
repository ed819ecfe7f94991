"""The workspace (`--home`): one object owns every path under it, so no module spells a folder name of its own.

<home>/latentgap.duckdb         the store (store.py; its file name is store.DB_NAME)
<home>/cache/datasets/          generated embedded benchmarks (.npz)
<home>/cache/latents/           latents + reconstructions per (weights, dataset, resolution) (.npz)
<home>/cache/shards/            Ray encoding shards (Parquet) before they are read back into cache/latents
<home>/cache/arms/              trained AE-independent arms (image, image-s2d), reused across autoencoders
<home>/bench/                   this machine's benchmark results (the Efficiency tab's "measure this machine")
<home>/gallery/RUN.npz          the Compare tab's small image grid of one run (48 px)
<home>/thumbnails/RUN/          per-sample thumbnails of one run (thumbnails.py): explorer and Reconstructions tab
<home>/uploads/                 checkpoints uploaded in the dashboard, named by content hash
<home>/exports/                 CSV / Parquet exports the dashboard hands out
<home>/reports/NAME.html        self-contained HTML reports (report.py; `report` verb, dashboard download)
<home>/gradio-tmp/              Gradio's own temporary files (kept inside the workspace)
<home>/worker.log               the dashboard's job worker
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from latentgap.errors import LatentgapError


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def open(cls, home: str | os.PathLike | None = None) -> Workspace:
        """`--home`, else $LATENTGAP_HOME, else ./workspace; created if missing and checked writable."""
        path = Path(home or os.environ.get("LATENTGAP_HOME") or "workspace").expanduser()
        if path.exists() and not path.is_dir():
            raise LatentgapError(
                f"--home {path} is a file, not a folder; give a folder path (it is created if missing)"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise LatentgapError(
                f"--home {path} is not writable ({e.strerror}); choose a folder you can write to"
            ) from None
        return cls(path.resolve())

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def dataset_cache(self) -> Path:
        return self.cache / "datasets"

    @property
    def latent_cache(self) -> Path:
        return self.cache / "latents"

    @property
    def shard_cache(self) -> Path:
        return self.cache / "shards"

    @property
    def arm_cache(self) -> Path:
        return self.cache / "arms"

    @property
    def bench_results(self) -> Path:
        return self.root / "bench"

    def gallery(self, run_id: str) -> Path:
        return self.root / "gallery" / f"{run_id}.npz"

    @property
    def thumbnail_root(self) -> Path:
        return self.root / "thumbnails"

    def thumbnails(self, run_id: str) -> Path:
        return self.thumbnail_root / run_id

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def report(self, name: str) -> Path:
        return self.reports / f"{name}.html"

    @property
    def gradio_tmp(self) -> Path:
        return self.root / "gradio-tmp"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"
