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


def test_cache_is_keyed_by_generator_code(tmp_path):
    registry.load("phantom-chest", 32, n_images=20, cache_dir=tmp_path)
    (name,) = [p.name for p in tmp_path.glob("*.npz")]
    import hashlib
    from pathlib import Path

    from latentgap.datasets import phantoms

    assert hashlib.sha256(Path(phantoms.__file__).read_bytes()).hexdigest()[:8] in name
