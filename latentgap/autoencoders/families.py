"""Autoencoder families as data: one registry entry per family (timm/diffusers style).

A family says which diffusers class builds it and what its latent space looks like. Latent scaling and
shift live here, never in callers. Adding a family = one `Family(...)` entry (+ a detection rule in
`loading.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from latentgap.errors import LatentgapError


@dataclass(frozen=True)
class Family:
    name: str
    diffusers_class: str  # attribute of the `diffusers` module
    in_channels: int
    latent_channels: int
    downsampling_factor: int
    scaling_factor: float
    shift_factor: float = 0.0
    description: str = ""
    config_template: dict = field(default_factory=dict)  # full-size diffusers config (offline)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            name="sd-vae",
            diffusers_class="AutoencoderKL",
            in_channels=3,
            latent_channels=4,
            downsampling_factor=8,
            scaling_factor=0.18215,
            description="KL-f8, 4 latent channels (Stable Diffusion 1.x/2.x; the paper's 'SD 1.4')",
            config_template=dict(
                in_channels=3,
                out_channels=3,
                down_block_types=["DownEncoderBlock2D"] * 4,
                up_block_types=["UpDecoderBlock2D"] * 4,
                block_out_channels=[128, 256, 512, 512],
                layers_per_block=2,
                latent_channels=4,
                norm_num_groups=32,
                sample_size=512,
                scaling_factor=0.18215,
            ),
        ),
    ]
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise LatentgapError(f"unknown autoencoder family {name!r}; known families: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]
