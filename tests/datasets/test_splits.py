import numpy as np
import pytest

from latentgap import LatentgapError
from latentgap.datasets.splits import paper_split


def test_paper_split_protocol():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(200), 3)
    labels = rng.choice(4, 600, p=[0.7, 0.2, 0.07, 0.03])
    tests = []
    for fold in range(5):
        train, val, test = paper_split(labels, groups, fold)
        assert len(set(train) | set(val) | set(test)) == 600
        for a, b in ((train, val), (train, test), (val, test)):
            assert not set(groups[a]) & set(groups[b])
        assert 0.15 < len(test) / 600 < 0.25 and 0.5 < len(train) / 600 < 0.7
        tests.append(test)
    assert np.array_equal(paper_split(labels, groups, 0)[1], tests[1])  # validation = fold k+1
    assert sorted(np.concatenate(tests)) == list(range(600))  # the test folds partition the data


def test_too_few_groups():
    with pytest.raises(LatentgapError, match="groups"):
        paper_split(np.zeros(10, int), np.zeros(10, int), 0)
