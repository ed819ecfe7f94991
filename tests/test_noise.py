import numpy as np

from latentgap.noise import evaluation_levels, karras_sigmas


def test_karras_schedule_matches_the_closed_form():
    s = karras_sigmas(32)
    rho, lo, hi = 7.0, 0.002, 80.0
    ramp = np.linspace(0, 1, 32)
    expected = (hi ** (1 / rho) + ramp * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho  # Karras et al. 2022, eq. 5
    assert len(s) == 32 and np.allclose(s, np.sort(expected), rtol=1e-5)
    assert s[0] == np.float64(s.min()) and abs(s[0] - 0.002) < 1e-6 and abs(s[-1] - 80) < 1e-4


def test_evaluation_levels_are_a_spread_subset():
    s = karras_sigmas(32)
    sub = evaluation_levels(s, 10)
    assert len(sub) == 10 and sub[0] == s[0] and sub[-1] == s[-1] and set(sub) <= set(s)
    assert np.array_equal(evaluation_levels(s, 32), s)
