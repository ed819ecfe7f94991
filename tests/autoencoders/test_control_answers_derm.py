"""The blurring control shows fidelity loss on phantom-derm (quick, seeds 0, 1, 2): else the protocol is wrong."""

import pytest

from tests.autoencoders.control_answers import cases, control_rows


@pytest.mark.control
@pytest.mark.slow  # the quick profile's ConvNeXt on image-s2d and reconstruction-s2d, 3 seeds of 1,200 images
@pytest.mark.parametrize("dataset,ae", cases("phantom-derm", ("zoo:blur-f8",)))
def test_the_blurring_control_loses_fidelity_on_phantom_derm(tmp_path, dataset, ae):
    row = control_rows(tmp_path, dataset, (ae,), "image-s2d,reconstruction-s2d").loc[ae]
    assert row.n_replicates == 3
    assert row.matched_fidelity_loss > 0.1, f"{ae} matched fidelity loss {row.matched_fidelity_loss:+.3f}"
