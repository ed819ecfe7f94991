"""Autoencoder families: one file per family behind one interface (`base.Family`), one registry (`registry.py`).

Every family answers the same interface: pixels (N, C, H, W) in [-1, 1] -> latent (N, c, H/f, W/f) -> pixels in
[-1, 1] (`encode` / `decode`); the latent is the posterior mode for KL families (the paper). Latent scaling and shift
live in the family, never in callers. Adding a family = one file here that defines it (subclassing `Family` where
its behaviour differs, with a `tiny_config` for the tests) and calls `register`, plus its import below and its
full-size config in `data/configs/NAME.json` (no hub access). Importing this package registers every family.
"""

# registration order is FAMILIES' order (the CLI's choices, the dropdown, the tests): not alphabetical
from latentgap.autoencoders.families import kl, flux2, medvae, dc_ae, tiny, vq, taesd_pth, controls  # noqa: F401, I001
from latentgap.autoencoders.families.base import Family
from latentgap.autoencoders.families.registry import FAMILIES, get_family, in_config_order, in_detection_order, register
from latentgap.autoencoders.families.vq import VQ_LATENTS

__all__ = ["FAMILIES", "VQ_LATENTS", "Family", "get_family", "in_config_order", "in_detection_order", "register"]
