import numpy as np
import pytest

from latentgap.datasets.phantoms import CHEST_CLASSES, CHEST_PREVALENCE, CHEST_SIGNALS, phantom_chest


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
    from latentgap.datasets.phantoms import _chest_image, _patient

    p = _patient(np.random.default_rng(0))
    base = _chest_image(np.random.default_rng(1), p, 0, 64)
    for label in range(1, len(CHEST_CLASSES)):
        diff = np.abs(_chest_image(np.random.default_rng(1), p, label, 64) - base)
        changed = (diff > 0.1).sum()  # pure noise gives ~2 such pixels of 4096
        assert 8 <= changed < 0.3 * diff.size, (CHEST_CLASSES[label], changed)  # present, subtle, local


def test_any_resolution_multiple_of_8():
    assert phantom_chest(4, 256, seed=0)["images"].shape == (4, 1, 256, 256)


@pytest.mark.parametrize("name", ["phantom_chest", "phantom_derm", "phantom_ct", "phantom_echo"])
def test_labels_and_groups_do_not_depend_on_resolution(name):
    from latentgap.datasets import phantoms

    small, large = getattr(phantoms, name)(150, 16, seed=2), getattr(phantoms, name)(150, 64, seed=2)
    assert np.array_equal(small["labels"], large["labels"]) and np.array_equal(small["groups"], large["groups"])
    assert large["images"].shape[-1] == 64 and large["images"].dtype == np.float32
    assert 0 <= large["images"].min() and large["images"].max() <= 1
    assert len(np.unique(large["groups"])) < 150  # several images per group
