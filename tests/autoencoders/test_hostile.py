"""Bad and hostile checkpoints: each is refused with one clear line, nothing runs, nothing reaches the store."""

import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from latentgap import LatentgapError
from latentgap.autoencoders.loading import load_autoencoder
from tests.autoencoders.conftest import tiny_model

ROOT = Path(__file__).resolve().parents[2]


class _RunsCode:
    """A pickle whose reduce would create a marker file if it were ever unpickled with code execution."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _sd_file(tmp_path, **overrides):
    sd = {k: v.contiguous() for k, v in tiny_model("sd-vae").state_dict().items()}
    sd.update(overrides)
    path = tmp_path / "vae.safetensors"
    save_file(sd, str(path))
    return path


def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _RunsCode(marker)}, path)
    with pytest.raises(LatentgapError, match="evil.ckpt was refused: its pickle needs code execution.*save_file"):
        load_autoencoder(str(path))
    assert not marker.exists()
    legacy = tmp_path / "evil.pt"  # a bare pickle, as the pre-zip format is
    legacy.write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(LatentgapError, match="needs code execution to load .it asks for pathlib.Path.touch"):
        load_autoencoder(str(legacy))
    assert not marker.exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("random.safetensors", bytes(range(256)) * 40, "not a safetensors file: its header is unreadable"),
        ("random.ckpt", bytes(range(256)) * 40, "not a PyTorch checkpoint at all .it starts with bytes 00 01"),
        ("cut.ckpt", b"PK\x03\x04" + b"\x00" * 100, "damaged"),
        ("marker.safetensors", b"\x80", "not a safetensors file"),  # one byte: a pickle marker, nothing after it
        ("marker.pt", b"\x80\x02", "damaged PyTorch checkpoint"),
        ("image.safetensors", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "PNG image, not a checkpoint"),
        ("photo.ckpt", b"\xff\xd8\xff\xe0" + b"\x00" * 200, "JPEG image"),
        ("scan.pt", b"\x00" * 128 + b"DICM" + b"\x00" * 64, "DICOM image"),
        ("empty.safetensors", b"", "empty .0 bytes."),
    ],
)
def test_garbage_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LatentgapError, match=message):
        load_autoencoder(str(tmp_path / name))


def test_truncated_safetensors(tmp_path):
    path = _sd_file(tmp_path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(LatentgapError, match="not a valid safetensors.*truncated"):
        load_autoencoder(str(path))


def test_header_claiming_huge_tensors(tmp_path):
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 40_000_000_000]}}
    ).encode()
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\x00" * 64)
    with pytest.raises(LatentgapError, match="not a valid safetensors"):
        load_autoencoder(str(path))


def test_zip_with_thousands_of_entries_and_non_torch_zip(tmp_path):
    bomb = tmp_path / "bomb.ckpt"
    with zipfile.ZipFile(bomb, "w") as z:
        for i in range(20_001):
            z.writestr(f"archive/data/{i}", b"")
    with pytest.raises(LatentgapError, match="20,001 entries"):
        load_autoencoder(str(bomb))
    other = tmp_path / "other.pt"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(LatentgapError, match="not a torch checkpoint"):
        load_autoencoder(str(other))


def test_size_cap(tmp_path):
    path = _sd_file(tmp_path)
    with pytest.raises(LatentgapError, match="over the .* MB cap"):
        load_autoencoder(str(path), max_mb=0.01)


def test_nan_and_inf_weights(tmp_path):
    bad = tiny_model("sd-vae").state_dict()["encoder.conv_in.weight"].clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(LatentgapError, match="NaN/Inf weights.*encoder.conv_in.weight"):
        load_autoencoder(str(_sd_file(tmp_path, **{"encoder.conv_in.weight": bad})))


def test_wrong_shapes_and_missing_keys(tmp_path):
    sd = tiny_model("sd-vae").state_dict()
    wrong = torch.zeros(sd["decoder.conv_in.weight"].shape[0], 3, 3, 3)
    with pytest.raises(LatentgapError, match="does not match a sd-vae autoencoder.*wrong shapes"):
        load_autoencoder(str(_sd_file(tmp_path, **{"decoder.conv_in.weight": wrong})))
    sd.pop("decoder.up_blocks.0.resnets.0.conv1.weight")
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp_path / "partial.safetensors"))
    with pytest.raises(LatentgapError, match="1 missing"):
        load_autoencoder(str(tmp_path / "partial.safetensors"))


def test_unknown_layout_lists_what_was_found(tmp_path):
    save_file({"backbone.layer1.weight": torch.zeros(2, 2)}, str(tmp_path / "resnet.safetensors"))
    with pytest.raises(LatentgapError, match="no known autoencoder layout.*backbone.layer1.*tried families"):
        load_autoencoder(str(tmp_path / "resnet.safetensors"))


def test_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(LatentgapError, match="holds a list"):
        load_autoencoder(str(tmp_path / "list.pt"))
    buf = io.BytesIO()
    torch.save({"step": 3}, buf)
    (tmp_path / "notensors.pt").write_bytes(buf.getvalue())
    with pytest.raises(LatentgapError, match="holds no tensors"):
        load_autoencoder(str(tmp_path / "notensors.pt"))


def test_cli_refuses_a_bad_checkpoint_without_touching_the_store(tmp_path):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    home = tmp_path / "home"
    for argv in (["inspect", str(path)], ["diagnose", "--ae", str(path), "--home", str(home)]):
        out = subprocess.run([sys.executable, "-m", "latentgap", *argv], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 2 and out.stderr.splitlines()[-1].startswith("error: evil.safetensors is a PNG image")
        assert "Traceback" not in out.stderr
    results = subprocess.run(
        [sys.executable, "-m", "latentgap", "results", "--home", str(home), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert json.loads(results.stdout) == []


NOTES = b"Notes on the VAE run\nlr 1e-4, 40 epochs; the weights are elsewhere\n"


@pytest.mark.parametrize(
    "name, says, fix",
    [
        ("notes.safetensors", "is not a safetensors file: its header is unreadable (it is a text file)", "save_file"),
        ("notes.pt", "is not a PyTorch checkpoint at all (it is a text file", "pick the autoencoder's weights file"),
        ("evil.ckpt", "was refused: its pickle needs code execution to load (it asks for ", "save_file"),
    ],
)
def test_cli_says_what_a_file_is_and_the_fix_in_one_whole_line(tmp_path, name, says, fix):
    """A text file renamed to a checkpoint is not called truncated; a pickle that needs code is refused; both messages
    are one whole line (no torch text cut mid-sentence, no warnings around it)."""
    path = tmp_path / name
    if name == "evil.ckpt":
        torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _RunsCode(tmp_path / "pwned")}, path)
    else:
        path.write_bytes(NOTES)
    out = subprocess.run(
        [sys.executable, "-m", "latentgap", "inspect", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 2 and not (tmp_path / "pwned").exists()
    [line] = out.stderr.splitlines()
    assert line.startswith(f"error: {name} {says}") and fix in line, line
    assert line.endswith(")") and "truncated" not in line and "weights_only` arg" not in line
