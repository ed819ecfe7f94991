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


def test_nested_subsets_take_whole_groups_nested_and_sized_and_keep_every_class():
    from latentgap.datasets.splits import nested_subsets

    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), rng.integers(1, 5, 60))  # patients with 1 to 4 images
    labels = (groups % 7 == 0).astype(int)  # a rare class: 9 of 60 patients
    labels[groups == 59] = 2  # a class held by one patient alone
    train = np.flatnonzero(groups >= 10)  # groups 0-9 are validation / test: never drawn
    fractions = (0.25, 0.5, 1.0)
    subsets = nested_subsets(labels, groups, train, fractions, seed=3)
    assert np.array_equal(subsets[1.0], train)
    assert set(subsets[0.25]) < set(subsets[0.5]) < set(subsets[1.0])  # nested, strictly
    for fraction in fractions:
        idx = subsets[fraction]
        assert np.array_equal(idx, np.sort(idx)) and set(idx) <= set(train)
        kept = np.unique(groups[idx])
        assert np.array_equal(np.sort(idx), np.flatnonzero(np.isin(groups, kept)))  # whole groups only
        assert set(labels[idx]) == {0, 1, 2}  # every class with training images keeps a group
        assert fraction * len(train) - 4 <= len(idx) <= fraction * len(train) + 4  # within one group of the target
    again = nested_subsets(labels, groups, train, fractions, seed=3)
    other = nested_subsets(labels, groups, train, fractions, seed=4)
    assert np.array_equal(again[0.25], subsets[0.25]) and not np.array_equal(other[0.25], subsets[0.25])


def test_nested_subsets_stay_within_the_target_without_covering_groups():
    from latentgap.datasets.splits import nested_subsets

    groups = np.repeat(np.arange(40), 3)
    subsets = nested_subsets(np.zeros(120, int), groups, np.arange(120), (0.1, 0.5, 1.0), seed=0)
    assert [len(subsets[f]) for f in (0.1, 0.5, 1.0)] == [12, 60, 120]  # at most the fraction: 12 = 4 groups of 3
