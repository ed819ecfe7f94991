"""Diffusion noise levels: the EDM/Karras schedule (Karras et al. 2022) taken from a diffusers scheduler.

σ is the noise standard deviation added to a latent normalised to std 0.5 (EDM's σ_data): x_σ = x + σ·ε.
"""

from __future__ import annotations

import numpy as np


def karras_sigmas(
    n_levels: int = 32, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> np.ndarray:
    """The `n_levels` σ of the EDM schedule, ascending (σ_min ... σ_max); diffusers' trailing 0 dropped."""
    from diffusers import EDMEulerScheduler

    scheduler = EDMEulerScheduler(sigma_min=sigma_min, sigma_max=sigma_max, rho=rho, sigma_schedule="karras")
    scheduler.set_timesteps(n_levels)
    return np.sort(scheduler.sigmas[:-1].double().numpy())


def evaluation_levels(sigmas: np.ndarray, n: int) -> np.ndarray:
    """`n` of the schedule's levels, evenly spaced in index (all of them when n >= len(sigmas))."""
    if n >= len(sigmas):
        return sigmas
    return sigmas[np.unique(np.round(np.linspace(0, len(sigmas) - 1, n)).astype(int))]
