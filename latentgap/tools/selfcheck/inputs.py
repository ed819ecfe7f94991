"""Hostile and bad input: checkpoints (crafted and fuzzed), dataset images, upload names, non-finite numbers.

Hostile inputs must be refused with a LatentgapError; unusual but valid ones must be read correctly; any other
exception, or code from a file running, is a finding.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from latentgap.tools.selfcheck.common import SMOKE_SPEC, Outcome, expect, job_row, tiny_checkpoint


class _RunsCode:
    """A pickle whose unpickling would create `marker` (code execution)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


NOTES = b"Notes on the VAE run\nlr 1e-4, 40 epochs; the weights are elsewhere\n"  # a text file, as users rename them
# Found by atheris in CI: a zip64 end record claiming several disks made zipfile.is_zipfile raise BadZipFile.
SPANNED_ZIP = bytes.fromhex(
    "a0504b060780504b0506ff8a0003004b05ffffff06504b050600000000ffffff0000000000000005060000000000000000cf"
)


def hostile_checkpoints(home: Path) -> Outcome:
    import pickle
    import struct
    import zipfile

    import torch

    from latentgap.autoencoders.families import get_family
    from latentgap.autoencoders.loading import load_autoencoder

    out, d = Outcome("hostile checkpoints", "input"), home / "checkpoints"
    d.mkdir(parents=True)
    good = tiny_checkpoint(d / "good.safetensors")
    sd = {k: v for k, v in zip(*_load_pairs(good))}
    marker = home / "code-ran"
    header = json.dumps({"w": {"dtype": "F32", "shape": [100_000, 100_000], "data_offsets": [0, 40_000_000_000]}})
    nan, inf = sd["encoder.conv_in.weight"].clone(), sd["decoder.conv_out.weight"].clone()
    nan[0, 0, 0, 0], inf[0, 0, 0, 0] = float("nan"), float("inf")

    def write(name: str, data: bytes) -> Path:
        (d / name).write_bytes(data)
        return d / name

    def zip_bomb() -> Path:
        with zipfile.ZipFile(d / "bomb.ckpt", "w") as z:
            for i in range(20_001):
                z.writestr(f"archive/data/{i}", b"")
        return d / "bomb.ckpt"

    torch.save({"state_dict": sd, "payload": _RunsCode(marker)}, d / "evil.ckpt")
    code = ("code execution", "save_file")  # a refused pickle says why and how to convert it
    cases = {  # label: (make the file, what the one-line refusal must say besides the file's name)
        "random bytes (.safetensors)": (lambda: write("random.safetensors", os.urandom(4096)), ()),
        "random bytes (.ckpt)": (lambda: write("random.ckpt", os.urandom(4096)), ("not a PyTorch checkpoint",)),
        "a text file named .safetensors": (
            lambda: write("notes.safetensors", NOTES),
            ("not a safetensors file", "header is unreadable", "text file", "save_file"),
        ),
        "a text file named .pt": (
            lambda: write("notes.pt", NOTES),
            ("not a PyTorch checkpoint at all", "text file", ".safetensors"),
        ),
        "empty file": (lambda: write("empty.safetensors", b""), ("empty",)),
        "truncated safetensors": (lambda: write("cut.safetensors", good.read_bytes()[:5000]), ("download it again",)),
        "header claiming a 40 GB tensor": (
            lambda: write("huge.safetensors", struct.pack("<Q", len(header)) + header.encode()),
            (),
        ),
        "pickle whose reduce runs code (zip)": (lambda: d / "evil.ckpt", code),
        "pickle whose reduce runs code (legacy)": (lambda: write("evil.pt", pickle.dumps(_RunsCode(marker))), code),
        "zip with 20,001 entries": (zip_bomb, ()),
        "zip end record spanning disks (fuzz find)": (lambda: write("disks.ckpt", SPANNED_ZIP), ()),
        "a PNG named .safetensors": (lambda: write("image.safetensors", b"\x89PNG\r\n\x1a\n" + bytes(200)), ("PNG",)),
        "NaN weights": (lambda: tiny_checkpoint(d / "nan.safetensors", **{"encoder.conv_in.weight": nan}), ("NaN",)),
        "Inf weights": (lambda: tiny_checkpoint(d / "inf.safetensors", **{"decoder.conv_out.weight": inf}), ("Inf",)),
        "wrong shapes": (
            lambda: tiny_checkpoint(d / "shape.safetensors", **{"decoder.conv_in.weight": torch.zeros(16, 3, 3, 3)}),
            ("wrong shapes",),
        ),
    }
    for label, (make, says) in cases.items():
        path = make()
        expect(out, label, lambda path=path: load_autoencoder(str(path)), "refuse", says=(path.name, *says))
    expect(out, "over the size cap", lambda: load_autoencoder(str(good), max_mb=0.01), "refuse")
    out.check(not marker.exists(), "no code from a pickle ran", count=False)
    expect(
        out,
        "a valid tiny checkpoint",
        lambda: load_autoencoder(str(good)),
        "read",
        valid=lambda ae: ae.family == get_family("sd-vae") and ae.latent_channels == 4,
    )
    return out


def _load_pairs(path: Path):
    from safetensors.torch import load_file

    sd = load_file(str(path))
    return list(sd), list(sd.values())


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random damage: flipped bytes, a cut, a forged header length, or junk spliced in."""
    b = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:
        for i in rng.integers(0, len(b), size=rng.integers(1, 16)):
            b[i] = int(rng.integers(256))
    elif kind == 1:
        b = b[: rng.integers(0, len(b))]
    elif kind == 2:
        b[: min(8, len(b))] = int(rng.integers(0, 2**63)).to_bytes(8, "little")[: min(8, len(b))]
    else:
        at = rng.integers(0, len(b) + 1)
        b[at:at] = rng.bytes(int(rng.integers(1, 256)))
    return bytes(b)


def check_load(path: Path):
    """Load a checkpoint: a LoadedAutoencoder, or a LatentgapError; any other exception escapes (a finding)."""
    from latentgap.autoencoders.loading import load_autoencoder

    return load_autoencoder(str(path))


def fuzzed_checkpoints(home: Path, n: int = 40, seed: int = 0) -> Outcome:
    """`n` random mutants each of a valid safetensors file and a valid torch checkpoint (seeded, bounded)."""
    import torch

    out, d = Outcome(f"fuzzed checkpoints ({2 * n} mutants)", "input"), home / "fuzz"
    d.mkdir(parents=True)
    good = tiny_checkpoint(d / "good.safetensors").read_bytes()
    keys, values = _load_pairs(d / "good.safetensors")
    torch.save(dict(zip(keys, values)), d / "good.ckpt")
    rng = np.random.default_rng(seed)
    for suffix, data in ((".safetensors", good), (".ckpt", (d / "good.ckpt").read_bytes())):
        for i in range(n):
            path = d / f"mutant-{i}{suffix}"
            path.write_bytes(mutate(data, rng))
            expect(out, path.name, lambda path=path: check_load(path), "either")
            path.unlink()
    failed = [line for line in out.detail if line.startswith("FAILED")]
    out.detail = failed or [f"{out.tried} mutants: each loaded or refused with a clear message ({out.refused} refused)"]
    return out


def _png(path: Path, arr: np.ndarray, mode: str | None = None, claim: tuple[int, int] | None = None) -> Path:
    """Save `arr` as PNG; `claim`: then rewrite its header to say (width, height) (CRC fixed), pixels untouched."""
    import struct
    import zlib

    from PIL import Image

    Image.fromarray(arr, mode).save(path) if mode else Image.fromarray(arr).save(path)
    if claim:
        b = bytearray(path.read_bytes())
        b[16:24] = struct.pack(">II", *claim)
        b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
        path.write_bytes(bytes(b))
    return path


def hostile_images(home: Path) -> Outcome:
    """Dataset images: damaged, degenerate, bombs and NaN refused; 16-bit, palette and alpha read and normalised."""
    import nibabel as nib
    from PIL import Image
    from pydicom.data import get_testdata_file

    from latentgap.datasets.readers import decode_image

    out, d = Outcome("hostile and unusual images", "input"), home / "images"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    photo = _png(d / "photo.png", rng.integers(0, 255, (64, 64), dtype=np.uint8))
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(d / "photo.jpg")
    ct = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    nan = np.zeros((8, 8, 4), np.float32)
    nan[2, 3, 2] = np.nan
    nib.save(nib.Nifti1Image(nan, np.eye(4)), str(d / "nan.nii.gz"))

    def cut(name: str, data: bytes) -> Path:
        (d / name).write_bytes(data)
        return d / name

    refused = {
        "truncated PNG": lambda: cut("cut.png", photo.read_bytes()[:300]),
        "truncated JPEG": lambda: cut("cut.jpg", (d / "photo.jpg").read_bytes()[:400]),
        "truncated DICOM": lambda: cut("cut.dcm", ct[: len(ct) // 2]),
        "garbage named .dcm": lambda: cut("junk.dcm", os.urandom(512)),
        "1x1 image": lambda: _png(d / "one.png", np.zeros((1, 1), np.uint8)),
        "20000x20000 image (header)": lambda: _png(d / "huge.png", np.zeros((8, 8), np.uint8), claim=(20000, 20000)),
        "decompression bomb 16000x16000": lambda: _png(
            d / "bomb.png", np.zeros((8, 8), np.uint8), claim=(16000, 16000)
        ),
        "NaN pixels": lambda: d / "nan.nii.gz",
    }
    for label, make in refused.items():
        expect(out, label, lambda make=make: decode_image(make()), "refuse")
    gray16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    palette = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).quantize(16)
    palette.save(d / "palette.png")
    rgba = rng.integers(0, 255, (32, 32, 4), dtype=np.uint8)
    read = {
        "16-bit grayscale": (lambda: _png(d / "g16.png", gray16), lambda x: x.shape == (1, 64, 64) and x.max() > 0.99),
        "palette colour": (lambda: d / "palette.png", lambda x: x.shape == (3, 32, 32)),
        "RGB with alpha": (lambda: _png(d / "rgba.png", rgba), lambda x: x.shape == (3, 32, 32)),
        "gray with alpha": (lambda: _png(d / "la.png", rgba[..., :2], "LA"), lambda x: x.shape == (1, 32, 32)),
        "a real CT DICOM": (lambda: cut("ct.dcm", ct), lambda x: x.shape == (1, 128, 128)),
    }
    for label, (make, shape_ok) in read.items():
        valid = lambda x, ok=shape_ok: ok(x) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
        expect(out, label, lambda make=make: decode_image(make()), "read", valid)
    return out


ODD_NAMES = [
    "..%2F..%2Fescape.safetensors",
    "-rf ~ ;$(touch pwned).safetensors",
    "a" * 200 + ".safetensors",
    "évil\u202egnp.safetensors",
    "new\nline.ckpt",
    " .pt",
    "x.SAFETENSORS",
]


def upload_names(home: Path) -> Outcome:
    """Uploads named to escape the workspace or confuse a shell land inside it under a content hash; uploads that are
    no checkpoint are refused naming the user's file, and only accepted uploads stay in `uploads/`."""
    import pickle

    from latentgap.autoencoders.loading import file_hash
    from latentgap.ui.diagnose import store_upload

    out, outside = Outcome("upload names", "input"), home / "outside"
    ws, incoming = home / "workspace", outside / "gradio" / "sub"
    incoming.mkdir(parents=True)
    ws.mkdir()
    weights = tiny_checkpoint(outside / "w.safetensors").read_bytes()
    accepted = set()

    def stored(name: str, data: bytes = weights, family: str = "auto"):
        src = incoming / name
        src.write_bytes(data)
        dest, label, info = store_upload(ws, str(incoming / ".." / "sub" / name), family)  # a path with ../ in it
        accepted.add(dest.name)
        return dest, label, info

    def inside(result) -> bool:
        dest, label, info = result
        safe = all(c.isalnum() or c in "._-:" for c in label) and len(label) <= 70
        in_ws = dest.resolve().parent == (ws / "uploads").resolve() and dest.read_bytes() == weights
        return in_ws and safe and info["family"] == "sd-vae" and info["name"] == label

    for name in ODD_NAMES:
        expect(out, f"upload named {name[:40]!r}", lambda name=name: stored(name), "read", inside)
    for name in ("passwd", "../../etc/shadow.txt", "x.exe"):
        expect(out, f"upload named {name!r} (not weights)", lambda name=name: stored(Path(name).name), "refuse")
    not_weights = {
        "notes.safetensors": (NOTES, "not a safetensors file"),
        "notes.pt": (NOTES, "not a PyTorch checkpoint"),
        "evil.ckpt": (pickle.dumps(_RunsCode(home / "code-ran")), "code execution"),
    }
    for name, (data, what) in not_weights.items():
        expect(out, f"upload {name} (no checkpoint)", lambda n=name, b=data: stored(n, b), "refuse", says=(name, what))
        out.check(file_hash([incoming / name]) not in out.detail[-1], f"{name}: not called by its hash", count=False)
    expect(
        out, "an accepted upload checked with a wrong family", lambda: stored("w.safetensors", family="dc-ae"), "refuse"
    )
    kept = sorted(p.name for p in (ws / "uploads").iterdir())
    out.check(kept == sorted(accepted), f"uploads/ holds only accepted checkpoints ({kept})", count=False)
    expect(out, "a typed reference to a system file", lambda: _load_reference("/etc/passwd"), "refuse")
    strays = sorted(p.name for p in outside.rglob("*") if p.is_file() and p.parent != incoming)
    out.check(strays == ["w.safetensors"], f"nothing written outside the workspace ({strays})", count=False)
    pwned = (home / "pwned").exists() or Path("pwned").exists() or (home / "code-ran").exists()
    out.check(not pwned, "no name was run as a command, no pickle ran", count=False)
    return out


def _load_reference(ref: str):
    from latentgap.autoencoders.loading import load_autoencoder
    from latentgap.ui.diagnose import resolve_reference

    source, _ = resolve_reference(ref)
    return load_autoencoder(source)


def non_finite_training(home: Path) -> Outcome:
    """A checkpoint whose finite weights overflow to inf latents, and NaN inputs to a classifier: both fail the job
    (or the fit) with a message naming the cause, without a server path and without writing a run."""
    import torch

    from latentgap.classifiers.models import ResNet
    from latentgap.classifiers.train import TrainConfig, fit
    from latentgap.jobs import work
    from latentgap.store import Store

    out = Outcome("non-finite latents and losses", "input")
    x, y = torch.full((20, 3, 16, 16), float("nan")), np.array([0, 1] * 10)
    expect(
        out,
        "NaN inputs to the latent classifier",
        lambda: fit(
            ResNet(3, 2, (1, 1, 1, 1), 4, "basic"),
            x,
            y,
            x,
            y,
            TrainConfig(epochs=1, batch_size=8),
            seed=0,
            desc="train latent",
        ),
        "refuse",
    )
    out.check("train latent: non-finite training loss" in out.detail[-1], "the message names the arm", count=False)
    (home / "uploads").mkdir(parents=True)
    big = torch.full((8, 8, 1, 1), 3e38)  # finite weights whose product overflows float32
    path = tiny_checkpoint(home / "uploads" / "overflow.safetensors", **{"quant_conv.weight": big})
    store = Store(home)
    job = store.submit_job({**SMOKE_SPEC, "autoencoder": str(path)}, "overflow")
    work(home, max_jobs=1, poll_s=0.05)
    row = job_row(home, job)
    ok = row["status"] == "failed" and "non-finite latents" in row["error"] and str(home) not in row["error"]
    out.check(ok and store.runs().empty, f"job with inf latents failed: {row['error']}")
    out.refused += ok
    return out


SCENARIOS = {
    "checkpoints": hostile_checkpoints,
    "fuzz": fuzzed_checkpoints,
    "images": hostile_images,
    "uploads": upload_names,
    "non-finite": non_finite_training,
}
