"""Benchmarks as data: name -> generator/loader plus metadata; one list feeds the CLI, UI and tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from latentgap.cache import atomic_savez, load_npz
from latentgap.datasets import embedded, phantoms  # importing them registers every embedded benchmark
from latentgap.datasets.benchmark import BENCHMARKS, Benchmark
from latentgap.datasets.dataset import Dataset  # also importable from here, as before
from latentgap.errors import LatentgapError

DEFAULT_DATASET = "chest-xray-pneumonia"  # embedded REAL chest X-rays (datasets/embedded.py)


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise LatentgapError(
            f"unknown dataset {name!r}; embedded benchmarks: {', '.join(sorted(BENCHMARKS))} (see `data list`)"
        )
    return BENCHMARKS[name]


def check_dataset(name_or_path: str) -> None:
    """Fail fast: an embedded benchmark name, a real set's name (found under the data root) or a file/folder."""
    from latentgap.datasets.real import REAL_SETS

    if name_or_path in REAL_SETS:
        return
    if name_or_path not in BENCHMARKS and not Path(name_or_path).expanduser().exists():
        get_benchmark(name_or_path)  # raises, listing the embedded benchmarks


def load(
    name: str,
    resolution: int,
    n_images: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    data_format: str | None = None,
    data_root: str | None = None,
) -> Dataset:
    """Embedded benchmark `name` at `resolution` px (generated, or read from `cache_dir`), or a dataset on disk.

    An embedded real set is read from the package data, a path by `formats.load_path` (format detected unless
    `data_format` names it); `n_images` then caps the images read (whole patients).
    """
    from latentgap.datasets.real import REAL_SETS, locate

    if name in REAL_SETS:  # a real set by name: its upstream layout under --data-root / $LATENTGAP_DATA
        from latentgap.datasets.formats import load_path

        path = locate(name, data_root)
        data = load_path(path, data_format or REAL_SETS[name].format, None, resolution, n_images)
        data.name = name
        return data
    if name not in BENCHMARKS and Path(name).expanduser().exists():
        from latentgap.datasets.formats import load_path

        return load_path(name, data_format, data_root, resolution, n_images)
    bench = get_benchmark(name)
    if not bench.synthetic:  # real images shipped with latentgap: nothing to generate or cache
        return embedded.load(bench, resolution, n_images)
    n = n_images or bench.default_size
    if resolution <= 0 or resolution % 8:
        raise LatentgapError(f"resolution {resolution} must be a positive multiple of 8")
    # a change of the generator or of any real-pixel file it reads (another pydicom-data) invalidates the cache
    sources = phantoms.sources(bench.generator)
    code_files = sorted(Path(phantoms.__file__).parent.glob("*.py"))  # every module of the phantoms package
    inputs = b"".join(f.read_bytes() for f in code_files) + "".join(src["sha256"] for src in sources).encode()
    code = hashlib.sha256(inputs).hexdigest()[:8]
    cache = Path(cache_dir) / f"{name}-{resolution}px-n{n}-seed{seed}-{code}.npz" if cache_dir else None
    data = load_npz(cache) if cache else None
    if data is None:
        data = getattr(phantoms, bench.generator)(n, resolution, seed=seed)
        if cache:
            atomic_savez(cache, **{k: data[k] for k in ("images", "labels", "groups", "values") if k in data})
    return Dataset(
        name=name,
        images=data["images"],
        labels=data["labels"],
        groups=data["groups"],
        class_names=list(bench.class_names),
        synthetic=bench.synthetic,
        card=dict(
            modality=bench.modality,
            description=bench.description,
            signals=bench.signals,
            seed=seed,
            generator=f"latentgap.datasets.phantoms.{bench.generator}",
            composition=bench.composition,
            sources=sources or "procedural (no real pixels)",
        ),
        values=data.get("values"),
    )


def describe(name: str) -> dict:
    """Metadata for `data list`: classes, class counts, groups, default size, resolutions, signals, synthetic flag."""
    b = get_benchmark(name)
    if not b.synthetic:
        return embedded.describe(b)
    d = getattr(phantoms, b.generator)(b.default_size, 8, seed=0)  # counts do not depend on resolution: 8 px is enough
    counts = np.bincount(d["labels"], minlength=len(b.class_names))
    return dict(
        class_counts=dict(zip(b.class_names, counts.tolist())),
        groups=int(len(np.unique(d["groups"]))),
        imbalance_ratio=round(float(counts.max() / max(counts.min(), 1)), 1),
        name=b.name,
        modality=b.modality,
        description=b.description,
        synthetic=b.synthetic,
        classes=list(b.class_names),
        default_size=b.default_size,
        resolutions=list(b.resolutions),
        signals=b.signals,
        composition=b.composition,
        sources=phantoms.sources(b.generator) or "procedural (no real pixels)",
    )
