import json

import numpy as np
import pytest

from latentgap import LatentgapError
from latentgap.datasets import registry


def test_every_benchmark_loads_and_is_labelled_synthetic(tmp_path):
    for name in registry.BENCHMARKS:
        d = registry.load(name, 32, n_images=60, cache_dir=tmp_path)
        assert d.synthetic and "SYNTHETIC" in d.card["modality"] + d.card["description"]
        assert (
            d.images.shape[0] == 60 and len(d.class_names) == d.labels.max() + 1 or d.labels.max() < len(d.class_names)
        )
        json.dumps(registry.describe(name))


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
