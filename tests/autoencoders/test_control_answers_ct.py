"""The lossless controls show no matched gap on phantom-ct (quick, seeds 0, 1, 2): else the protocol is wrong."""

import pytest

from tests.autoencoders.control_answers import NULL_CONTROLS, assert_no_matched_gap, cases, control_rows

DATASET = "phantom-ct"


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """The three lossless controls diagnosed once for the module's tests (two ConvNeXt arms x 3 seeds each)."""
    return control_rows(tmp_path_factory.mktemp("controls"), DATASET, NULL_CONTROLS, "reconstruction-s2d")


@pytest.mark.control
@pytest.mark.slow  # 1,200 images (CI-sized), quick profile: about 20 CPU-minutes for the module
@pytest.mark.parametrize("ae", cases(DATASET, NULL_CONTROLS))
def test_a_lossless_control_shows_no_matched_gap_on_phantom_ct(rows, ae):
    assert_no_matched_gap(rows.loc[ae])
