import sys

import numpy as np
import pytest

from latentgap.datasets import phantoms, registry
from latentgap.datasets.phantoms.chest import CHEST_CLASSES, CHEST_PREVALENCE, CHEST_SIGNALS, phantom_chest


def test_phantom_chest_is_seeded_and_well_formed():
    a, b = phantom_chest(120, 64, seed=3), phantom_chest(120, 64, seed=3)
    assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["labels"], b["labels"])
    assert not np.array_equal(a["images"], phantom_chest(120, 64, seed=4)["images"])
    assert a["images"].shape == (120, 1, 64, 64) and a["images"].dtype == np.float32
    assert 0 <= a["images"].min() and a["images"].max() <= 1
    assert len(np.unique(a["groups"])) < 120  # several images per synthetic patient


def test_phantom_chest_is_long_tailed():
    d = phantom_chest(2000, 32, seed=0)
    freq = np.bincount(d["labels"], minlength=len(CHEST_CLASSES)) / 2000
    assert np.allclose(freq, CHEST_PREVALENCE, atol=0.03)
    assert freq[0] > 0.5 and freq[-1] < 0.05  # dominant "no finding", rare classes at a few percent
    assert set(CHEST_SIGNALS) == set(CHEST_CLASSES)  # every class's signal is documented


def test_findings_change_the_pixels_where_documented():
    """Same anatomy, different label: a localised change above the noise (sigma 0.02) marks the finding."""
    from latentgap.datasets.phantoms.chest import _chest_image, _chest_pose, _patient

    rng = np.random.default_rng(0)
    p = dict(_patient(rng), **_chest_pose(rng))
    base = _chest_image(np.random.default_rng(1), p, 0, 64)
    for label in range(1, len(CHEST_CLASSES)):
        diff = np.abs(_chest_image(np.random.default_rng(1), p, label, 64) - base)
        changed = (diff > 0.1).sum()  # pure noise gives ~2 such pixels of 4096
        assert 8 <= changed < 0.3 * diff.size, (CHEST_CLASSES[label], changed)  # present, subtle, local


def test_any_resolution_multiple_of_8():
    assert phantom_chest(4, 256, seed=0)["images"].shape == (4, 1, 256, 256)


@pytest.mark.parametrize("name", [b.generator for b in registry.BENCHMARKS.values() if b.synthetic])
def test_labels_and_groups_do_not_depend_on_resolution(name):
    small, large = getattr(phantoms, name)(150, 16, seed=2), getattr(phantoms, name)(150, 64, seed=2)
    assert np.array_equal(small["labels"], large["labels"]) and np.array_equal(small["groups"], large["groups"])
    assert large["images"].shape[-1] == 64 and large["images"].dtype == np.float32
    assert 0 <= large["images"].min() and large["images"].max() <= 1
    assert len(np.unique(large["groups"])) < 150  # several images per group


GENERATORS = [b.generator for b in registry.BENCHMARKS.values() if b.synthetic]  # every registered phantom
REAL = [b.generator for b in registry.BENCHMARKS.values() if b.source_files]  # composites of packaged real pixels


@pytest.mark.parametrize("name", GENERATORS)
def test_every_benchmark_is_deterministic_and_well_formed(name):
    gen = getattr(phantoms, name)
    a, b, other = gen(30, 32, seed=5), gen(30, 32, seed=5), gen(30, 32, seed=6)
    assert np.array_equal(a["images"], b["images"]) and np.array_equal(a["labels"], b["labels"])
    assert not np.array_equal(a["images"], other["images"])
    channels = 3 if name == "phantom_derm" else 1
    assert a["images"].shape == (30, channels, 32, 32) and a["images"].dtype == np.float32
    assert 0 <= a["images"].min() and a["images"].max() <= 1 and a["images"].std() > 0.05
    assert len({im.tobytes() for im in a["images"]}) == 30  # every image differs, even within a patient


def test_label_and_group_streams_are_those_of_the_procedural_generators():
    """Pixels changed (real anatomy, subtler derm signal), labels and groups did not: the streams are pinned to the
    values the purely procedural generators produced (seed 0 and 3, 600 images)."""
    import hashlib

    pinned = {
        ("phantom_chest", 0): "62ea1e859975e172",
        ("phantom_chest", 3): "6d6220b4d3e2c2ed",
        ("phantom_derm", 0): "9f310450f8f32cf3",
        ("phantom_derm", 3): "6c45cfb6b0a06897",
        ("phantom_ct", 0): "b2beb3f9ea4ef3a5",
        ("phantom_ct", 3): "b67bda2e6cfc2fec",
        ("phantom_echo", 0): "8df9ccb9db83355d",
        ("phantom_echo", 3): "b2fb9407d76d3744",
    }
    for (name, seed), digest in pinned.items():
        d = getattr(phantoms, name)(600, 8, seed=seed)
        assert hashlib.sha256(d["labels"].tobytes() + d["groups"].tobytes()).hexdigest()[:16] == digest, (name, seed)


@pytest.mark.parametrize("name", GENERATORS)
def test_labels_groups_and_values_are_identical_at_every_resolution(name):
    gen = getattr(phantoms, name)
    ref = gen(40, 8, seed=1)
    for size in (64, 128):
        d = gen(40, size, seed=1)
        assert d["images"].shape[-2:] == (size, size)
        assert np.array_equal(d["labels"], ref["labels"]) and np.array_equal(d["groups"], ref["groups"])
        if "values" in ref:
            assert np.array_equal(d["values"], ref["values"], equal_nan=True)


def _corr(a, b):
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_phantom_chest_shows_the_real_radiograph():
    """With a neutral pose the image is the packaged radiograph (plus markings and noise), pixel for pixel."""
    from latentgap.datasets.phantoms.chest import _chest_image, _cr_base

    p = dict(
        thorax_w=0.39,
        lung_h=0.33,
        lung_cy=0.47,
        ctr=0.42,
        rib_period=0.085,
        exposure=1.0,
        rot=0.0,
        shift=np.zeros(2),
        elastic=np.zeros((2, 4, 4)),
        gamma=1.0,
        contrast=1.0,
        zoom=1.0,
    )
    img = _chest_image(np.random.default_rng(0), p, 0, 64)
    real = _cr_base(128)[0].reshape(64, 2, 64, 2).mean((1, 3))  # the real radiograph at 64 px
    assert _corr(img, real) > 0.95
    assert _corr(img, real[::-1]) < 0.6  # not any bright-centred image


@pytest.mark.parametrize("name", REAL)
def test_images_are_made_from_the_packaged_real_pixels(name, monkeypatch):
    """Replacing the real source pixels by the same pixels upside down changes the images: they reach the output."""
    from latentgap.datasets.phantoms import _sources

    module = sys.modules[getattr(phantoms, name).__module__]  # the benchmark's module reads its real pixels
    caches = [f for f in vars(module).values() if callable(getattr(f, "cache_clear", None))]  # e.g. chest._cr_base
    real = getattr(phantoms, name)(24, 32, seed=0)["images"]
    original = _sources._dicom
    try:
        monkeypatch.setattr(module, "_dicom", lambda file, frames=None: original(file, frames)[..., ::-1, :].copy())
        for c in caches:
            c.cache_clear()
        fake = getattr(phantoms, name)(24, 32, seed=0)["images"]
    finally:
        monkeypatch.undo()
        for c in caches:
            c.cache_clear()
    assert np.abs(real - fake).mean() > 0.02


def test_real_pixels_are_read_offline_or_fail_with_the_fix(monkeypatch):
    import pydicom.data

    from latentgap import LatentgapError
    from latentgap.datasets.phantoms._sources import _source_path

    calls = []
    monkeypatch.setattr(pydicom.data, "get_testdata_file", lambda name, download=True: calls.append(download))
    with pytest.raises(LatentgapError, match="pip install -r requirements.txt"):
        _source_path("RG1_UNCR.dcm")
    assert calls == [False]  # never asks pydicom to download


@pytest.mark.parametrize("name", [name for name, b in registry.BENCHMARKS.items() if b.synthetic])
def test_card_lists_every_real_source_with_license_and_provenance(name, tmp_path):
    import hashlib
    from pathlib import Path

    from pydicom.data import get_testdata_file

    bench = registry.get_benchmark(name)
    card = registry.load(name, 16, n_images=8, cache_dir=tmp_path).card
    listed = registry.describe(name)
    assert card["sources"] == listed["sources"] and card["composition"] == listed["composition"]
    assert "SYNTHETIC" in card["composition"] and set(card["signals"]) == set(bench.class_names)
    if not bench.source_files:
        assert card["sources"] == "procedural (no real pixels)" and "procedural" in card["modality"]
        return
    assert "synthetic" in card["composition"].lower() and "real" in card["modality"]
    files = [s["file"] for s in card["sources"]]
    assert files == list(phantoms.GENERATOR_SOURCES[bench.generator]) and all(f in card["composition"] for f in files)
    for s in card["sources"]:
        assert {"file", "package", "package_license", "path", "sha256", "license", "provenance", "content"} <= set(s)
        assert "license" in s["license"] and "MIT" in s["package_license"] and s["provenance"]
        path = get_testdata_file(s["file"], download=False)
        assert path and path.replace("\\", "/").endswith(s["path"])
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == s["sha256"]
