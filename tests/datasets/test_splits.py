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


def test_official_split_and_fold_parsing():
    from latentgap.datasets.splits import OFFICIAL, official_split, parse_folds

    groups = np.repeat(np.arange(50), 2)
    labels = np.tile([0, 1], 50)
    split = np.where(groups < 35, "train", np.where(groups < 42, "val", "test"))
    train, val, test = official_split(split, labels, groups)
    assert len(train) == 70 and len(val) == 14 and len(test) == 16
    no_val = np.where(split == "val", "train", split)
    train, val, test = official_split(no_val, labels, groups)  # validation carved from training groups
    assert len(val) > 0 and not set(groups[train]) & set(groups[val])
    leaky = split.copy()
    leaky[0] = "test"  # patient 0 now in train and test
    with pytest.raises(LatentgapError, match="both the train and test"):
        official_split(leaky, labels, groups)
    assert parse_folds(None, (0,)) == (0,) and parse_folds("all", (0,)) == (0, 1, 2, 3, 4)
    assert parse_folds("2,0", (0,)) == (0, 2) and parse_folds("official", (0,)) == (OFFICIAL,)
    for bad in ("7", "x"):
        with pytest.raises(LatentgapError, match="--folds"):
            parse_folds(bad, (0,))
