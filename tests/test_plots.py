"""latentgap/plots.py figures that the other tests do not reach through the app."""

import numpy as np
import pandas as pd

from latentgap.plots import MAX_GAP_LABELS, gap_bars


def _gap_rows(n: int, encoder_only: int = 0) -> pd.DataFrame:
    rows = [
        dict(
            autoencoder=f"zoo:ae{i}",
            dataset="chest-xray-pneumonia",
            synthetic=False,
            run_id=f"run-{i:06d}",
            image=0.9,
            reconstruction=np.nan if i < encoder_only else 0.85,
            latent=0.8,
            gap=np.nan if i < encoder_only else 0.05,
            gap_ci_low=np.nan if i < encoder_only else 0.01,
            gap_ci_high=np.nan if i < encoder_only else 0.09,
        )
        for i in range(n)
    ]
    return pd.DataFrame(rows)


def test_gap_bars_label_each_group_with_its_paper_gap_but_never_a_missing_one():
    fig = gap_bars(_gap_rows(3, encoder_only=1))
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["paper gap +0.050 [+0.010, +0.090]"] * 2  # the encoder-only run has no gap: no "+nan" label
    assert all(np.isfinite(a.y) for a in fig.layout.annotations)


def test_gap_bars_stop_labelling_when_the_labels_would_overlap():
    assert len(gap_bars(_gap_rows(MAX_GAP_LABELS)).layout.annotations) == MAX_GAP_LABELS
    assert len(gap_bars(_gap_rows(MAX_GAP_LABELS + 1)).layout.annotations) == 0  # the table has the numbers
