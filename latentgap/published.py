"""Figures published in the paper, shown beside local results and always marked as published.

Only what `../shared/PAPER.md` states as a number; the paper's per-dataset tables are not reproduced here.
"""

from __future__ import annotations

SOURCE = "Dombrowski, Nützel, Kainz: The Learnability Gap in Medical Latent Diffusion (arXiv 2605.17087, MICCAI 2026)"

PUBLISHED = {
    "latent_vs_reconstruction_p": dict(
        value=9.5e-7, what="p-value of latent < reconstruction/image over 5 AEs x 4 datasets x 5 folds"
    ),
    "latent_vs_image.throughput_ratio": dict(
        value=64.0,
        what="throughput of the noise-conditioned latent classifier over the image-space model (set-up "
        "not published; assumed ConvNeXt-Tiny on 64x64 latents vs ResNet-50 on 256x256 images)",
    ),
    "latent_vs_image.memory_ratio": dict(
        value=120.0, what="memory of the image-space model over the latent classifier"
    ),
}


def published_line(key: str) -> str:
    """'**published**: VALUE — what (source)' for a dashboard caption."""
    p = PUBLISHED[key]
    return f"**published**: {p['value']:g} — {p['what']} ({SOURCE})"
