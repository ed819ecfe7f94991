import json
from pathlib import Path

import numpy as np
import pytest

from latentgap import LatentgapError
from latentgap.datasets import registry


def test_benchmarks_are_registered_in_order():
    assert list(registry.BENCHMARKS)[:4] == ["phantom-chest", "phantom-derm", "phantom-ct", "phantom-echo"]
    assert registry.DEFAULT_DATASET in registry.BENCHMARKS


SYNTHETIC = [name for name, b in registry.BENCHMARKS.items() if b.synthetic]  # the real one: test_embedded.py


@pytest.mark.parametrize("name", SYNTHETIC)
def test_every_benchmark_loads_and_is_labelled_synthetic(name, tmp_path):
    """Every registered benchmark (one file in datasets/phantoms/ each) generates a tiny set with its declared classes,
    is flagged synthetic and says SYNTHETIC on its card."""
    from latentgap.datasets import phantoms

    bench = registry.BENCHMARKS[name]
    d = registry.load(name, 32, n_images=60, cache_dir=tmp_path)
    assert d.name == name and d.images.shape[0] == 60 and d.images.shape[-2:] == (32, 32)
    assert d.class_names == list(bench.class_names) and 0 <= d.labels.min() and d.labels.max() < len(d.class_names)
    assert getattr(phantoms, bench.generator)(6, 8, seed=0)["class_names"] == list(bench.class_names)
    assert d.synthetic and bench.synthetic
    assert all("SYNTHETIC" in d.card[k] for k in ("modality", "description", "composition")), d.card
    assert set(d.card["signals"]) == set(bench.class_names)
    listed = registry.describe(name)
    assert listed["classes"] == list(bench.class_names) and sum(listed["class_counts"].values()) == bench.default_size
    json.dumps(listed)


def test_cache_round_trips_exactly(tmp_path):
    a = registry.load("phantom-chest", 32, n_images=40, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1 and not list(tmp_path.glob(".*tmp"))
    b = registry.load("phantom-chest", 32, n_images=40, cache_dir=tmp_path)
    assert a.fingerprint == b.fingerprint and np.array_equal(a.images, b.images)


def test_bad_requests_are_user_errors():
    with pytest.raises(LatentgapError, match="unknown dataset 'nope'.*phantom-chest"):
        registry.load("nope", 64)
    with pytest.raises(LatentgapError, match="multiple of 8"):
        registry.load("phantom-chest", 60)


def test_cache_is_keyed_by_generator_code_and_source_files(tmp_path, monkeypatch):
    from latentgap.datasets import phantoms

    registry.load("phantom-chest", 32, n_images=20, cache_dir=tmp_path)
    registry.load("phantom-chest", 32, n_images=20, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1  # the second load is a cache hit
    real = phantoms.sources
    monkeypatch.setattr(phantoms, "sources", lambda g: [dict(s, sha256="0" * 64) for s in real(g)])
    registry.load("phantom-chest", 32, n_images=20, cache_dir=tmp_path)  # another pydicom-data file: regenerated
    assert len(list(tmp_path.glob("*.npz"))) == 2
    # any module of the generator package, even another benchmark's: regenerated
    echo, read = Path(phantoms.echo.__file__), Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read(self) + (b"# changed" if self == echo else b""))
    registry.load("phantom-chest", 32, n_images=20, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 3
