"""The lossless controls show no matched gap on phantom-chest (quick, seeds 0, 1, 2): else the protocol is wrong."""

import pytest

from tests.autoencoders.control_answers import NULL_CONTROLS, assert_null_controls_show_no_matched_gap, control_rows


@pytest.mark.slow  # the quick profile's ConvNeXt on two arms x 3 controls x 3 seeds of 1,200 images (CI-sized)
def test_null_controls_show_no_matched_gap_on_phantom_chest(tmp_path):
    assert_null_controls_show_no_matched_gap(
        control_rows(tmp_path, "phantom-chest", NULL_CONTROLS, "reconstruction-s2d")
    )
