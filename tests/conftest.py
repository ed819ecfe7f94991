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


@pytest.fixture(scope="session")
def diagnosed_home(tmp_path_factory):
    """A workspace holding one real quick-profile diagnosis (embedded AE, reduced benchmark, seed 1), via the CLI."""
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path_factory.mktemp("diagnosed")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-m", "latentgap", "diagnose", "--ae", "zoo:sd-vae-mini", "--dataset", "phantom-chest",
         "--profile", "quick", "--max-samples", "300", "--device", "cpu", "--seed", "1", "--home", str(home)],
        capture_output=True, text=True, timeout=900, env=env, cwd=root,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return home, out
