import os

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# a parallel run (scripts/test.sh): one core per worker and per CLI it starts, so workers do not oversubscribe
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"

import pytest  # noqa: E402

# the control protocol (tests/autoencoders/test_control_answers_*.py) trains ~60 classifiers of the quick profile:
# about 2 CPU-hours, beyond CI's 90 minutes on 2 cores, so it runs on request (a GPU job, or a long CPU job)
CONTROL_PROTOCOL = "LATENTGAP_CONTROL_TESTS"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(CONTROL_PROTOCOL) == "1":
        return
    skip = pytest.mark.skip(
        reason=f"the control protocol takes about 2 CPU-hours: {CONTROL_PROTOCOL}=1 runs it "
        "(scripts/control_check.sh measures the same; README, Controls)"
    )
    for item in items:
        if "control" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_ae_dir(tmp_path_factory):
    """A random-weight KL-f8 AutoencoderKL (SD architecture, 4 latent channels) saved as a diffusers folder."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    ae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[8, 8, 16, 16],
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
    )
    path = tmp_path_factory.mktemp("tiny-ae")
    ae.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(scope="session")
def diagnosed_home(tmp_path_factory):
    """A workspace holding one real quick-profile diagnosis (embedded AE, reduced benchmark, seed 1), via the CLI.
    Its users only read it, so parallel workers share one (the first builds it under a file lock)."""
    import json
    import subprocess

    from filelock import FileLock  # torch's own dependency

    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else None
    if shared is None:
        home = tmp_path_factory.mktemp("diagnosed")
        return home, _diagnose_into(home)
    home, record = shared / "diagnosed", shared / "diagnosed.json"
    with FileLock(str(shared / "diagnosed.lock")):
        if not record.exists():
            out = _diagnose_into(home)
            record.write_text(json.dumps(dict(args=out.args, stdout=out.stdout, stderr=out.stderr)))
    kept = json.loads(record.read_text())
    return home, subprocess.CompletedProcess(kept["args"], 0, kept["stdout"], kept["stderr"])


def _diagnose_into(home):
    """`diagnose` (quick profile, 300 images, seed 1) into `home` through the CLI; its finished process."""
    import subprocess
    import sys
    from pathlib import Path

    home.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "latentgap",
            "diagnose",
            "--ae",
            "zoo:sd-vae-mini",
            "--dataset",
            "phantom-chest",
            "--profile",
            "quick",
            "--max-samples",
            "300",
            "--device",
            "cpu",
            "--seed",
            "1",
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=root,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def learning_home(tmp_path_factory):
    """A workspace holding one smoke diagnosis with a learning curve (`--train-fractions 0.5,1`, 120 images), run
    through the CLI in this process: (home, run id, the progress steps it printed)."""
    import contextlib
    import io
    import re

    from latentgap.cli import main

    home = tmp_path_factory.mktemp("learning")
    args = ["--ae", "zoo:sd-vae-mini", "--dataset", "phantom-chest", "--profile", "smoke", "--max-samples", "120"]
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["diagnose", *args, "--device", "cpu", "--train-fractions", "0.5,1", "--home", str(home)])
    assert code == 0, err.getvalue()[-3000:]
    steps = re.findall(r"\[latentgap\] ([^\r\n]*)", err.getvalue())  # progress bars share the lines
    return home, out.getvalue().split()[1], steps
