"""Families: encode + decode throughput of every registered autoencoder family at full size.

Each family is built from its shipped full-size config (`data/configs/`, MedVAE 4x1 for `medvae`) with seeded
random weights — throughput does not depend on the weights, and no hub is reachable — and timed through the
same `encode_decode` that `diagnose` uses (bf16 autocast on CUDA, fp32 on CPU). Full size means the paper's
512 px on a GPU; a CPU run uses a smaller resolution so the section stays minutes long, and says which.
"""

from __future__ import annotations

import numpy as np

RESOLUTION = {("cuda", False): 512, ("cuda", True): 512, ("cpu", False): 256, ("cpu", True): 128}
BATCH = {"cuda": 8, "cpu": 2}


def full_size_autoencoder(family_name: str, seed: int = 0):
    """A `LoadedAutoencoder` of `family_name` at its full-size config with seeded random weights."""
    import torch

    from latentgap.autoencoders.families import get_family
    from latentgap.autoencoders.loading import LoadedAutoencoder

    family = get_family(family_name)
    config = family.config_template()
    torch.manual_seed(seed)
    model = family.build_model(config).eval()
    return LoadedAutoencoder(
        f"{family_name} (full size, random weights)", family, model, "random-init", "config", config
    )


def run(device: str, quick: bool, families: tuple[str, ...] | None = None, reps: int | None = None) -> dict:
    import torch

    from latentgap.autoencoders.families import FAMILIES
    from latentgap.encode import encode_decode
    from latentgap.tools.bench.encoding import encoder_flops_per_image
    from latentgap.tools.bench.measure import per_second, repeat

    size, batch = RESOLUTION[(device, quick)], BATCH[device]
    n, reps = 2 * batch, reps or (2 if quick else 5)
    images = np.random.default_rng(0).uniform(size=(n, 3, size, size)).astype(np.float32)  # content-free timing
    out = dict(
        resolution=size,
        batch_size=batch,
        images_per_repetition=n,
        repetitions=reps,
        weights="random (seeded)",
        families={},
    )
    for name in families or tuple(FAMILIES):
        ae = full_size_autoencoder(name)
        row = dict(parameters=ae.parameters, latent_channels=ae.latent_channels, factor=ae.downsampling_factor)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        row["throughput"] = per_second(
            repeat(lambda ae=ae: encode_decode(ae, images, batch, device), reps, 1, device),
            n,
            "images/s (encode + decode)",
        )
        if device == "cuda":
            row["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
        row["gflop_per_image"] = encoder_flops_per_image(ae, images[:1], device) / 1e9
        out["families"][name] = row
    return out
