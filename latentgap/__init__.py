"""latentgap: measure the learnability gap of image autoencoders for medical latent diffusion."""

__version__ = "0.1.0"

from latentgap.errors import LatentgapError  # noqa: E402

__all__ = ["LatentgapError", "__version__"]
