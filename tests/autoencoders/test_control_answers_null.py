"""The lossless controls show no matched gap on phantom-ct and phantom-chest (quick, seeds 0, 1, 2): else the
protocol is wrong."""

import pytest

from tests.autoencoders.control_answers import NULL_CONTROLS, assert_no_matched_gap, cases, control_rows

DATASETS = ("phantom-ct", "phantom-chest")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """dataset -> its three lossless controls' rows, diagnosed once (two ConvNeXt arms x 3 seeds each)."""
    done = {}

    def of(dataset):
        if dataset not in done:
            done[dataset] = control_rows(tmp_path_factory.mktemp(dataset), dataset, NULL_CONTROLS, "reconstruction-s2d")
        return done[dataset]

    return of


@pytest.mark.control
@pytest.mark.slow  # 1,200 images, quick profile: about 45 CPU-minutes per dataset
@pytest.mark.parametrize("dataset,ae", [case for d in DATASETS for case in cases(d, NULL_CONTROLS)])
def test_a_lossless_control_shows_no_matched_gap(rows, dataset, ae):
    assert_no_matched_gap(rows(dataset).loc[ae])
