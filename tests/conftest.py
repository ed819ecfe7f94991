import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_ae_dir(tmp_path_factory):
    """A random-weight KL-f8 AutoencoderKL (SD architecture, 4 latent channels) saved as a diffusers folder."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    ae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=[8, 8, 16, 16], layers_per_block=1,
        latent_channels=4, norm_num_groups=4,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("tiny-ae")
    ae.save_pretrained(path, safe_serialization=True)
    return path
