"""tiny_pth: the madebyollin/taesd `.pth` layout, checked against the raw state dicts of the real TAEF2 / TAESana
files (a forward pass written here with torch.nn.functional), real chest X-ray round trips, a TAESD-like model built
here, and damaged files. Real data from $LATENTGAP_DATA (default: the checkout's ../shared/data)."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from latentgap.autoencoders.tiny_pth import (
    TinyAutoencoder,
    TinyDecoder,
    TinyEncoder,
    family_name,
    load_tiny,
    looks_like_tiny_pth,
    read_layout,
)
from latentgap.errors import LatentgapError

DATA = Path(os.environ.get("LATENTGAP_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
WEIGHTS = DATA / "weights" / "taesd"
CXR = DATA / "chest-xray-pneumonia" / "chest_xray" / "test"
needs_weights = pytest.mark.skipif(
    not (WEIGHTS / "taef2_encoder.pth").exists(), reason=f"real taesd weights absent at {WEIGHTS} (set LATENTGAP_DATA)"
)
needs_cxr = pytest.mark.skipif(not (CXR / "NORMAL").is_dir(), reason=f"Kermany chest X-rays absent at {CXR}")


def raw(name: str) -> dict:
    return torch.load(WEIGHTS / f"{name}.pth", map_location="cpu", weights_only=True)


def reference(sd: dict, x: torch.Tensor, decoder: bool) -> torch.Tensor:
    """The Sequential a taesd file describes, run with torch.nn.functional straight from its keys (no tiny_pth
    class): blocks ReLU(conv(x') + skip(x')) with x' = x + pool(x); bias-free or ReLU-followed encoder convs stride
    2; decoder index 0 tanh(z/3)·3, a gap before a bias-free conv nearest x2, any other gap ReLU."""
    sd = {k: v.float() for k, v in sd.items()}
    n = 1 + max(int(k.split(".")[0]) for k in sd)
    holds = {int(k.split(".")[0]) for k in sd}
    for i in range(n):
        p = f"{i}."
        if p + "conv.0.weight" in sd:
            if p + "pool.0.weight" in sd:
                h = F.group_norm(
                    F.conv2d(x, sd[p + "pool.0.weight"]), 4, sd[p + "pool.1.weight"], sd[p + "pool.1.bias"]
                )
                x = x + F.conv2d(F.relu(h), sd[p + "pool.3.weight"])
            h = F.relu(F.conv2d(x, sd[p + "conv.0.weight"], sd[p + "conv.0.bias"], padding=1))
            h = F.relu(F.conv2d(h, sd[p + "conv.2.weight"], sd[p + "conv.2.bias"], padding=1))
            h = F.conv2d(h, sd[p + "conv.4.weight"], sd[p + "conv.4.bias"], padding=1)
            x = F.relu(h + (F.conv2d(x, sd[p + "skip.weight"]) if p + "skip.weight" in sd else x))
        elif p + "weight" in sd:
            bias = sd.get(p + "bias")
            strided = not decoder and i < n - 1 and (bias is None or i + 1 not in holds)
            x = F.conv2d(x, sd[p + "weight"], bias, stride=2 if strided else 1, padding=1)
        elif decoder and i == 0:
            x = torch.tanh(x / 3) * 3
        elif decoder and f"{i + 1}.weight" in sd and f"{i + 1}.bias" not in sd:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        else:
            x = F.relu(x)
    return x


@pytest.fixture(scope="module")
def taef2(tmp_path_factory) -> TinyAutoencoder:
    """TAEF2 encoder + decoder through the folder intake."""
    folder = tmp_path_factory.mktemp("taef2")
    for part in ("encoder", "decoder"):
        shutil.copy(WEIGHTS / f"taef2_{part}.pth", folder)
    return load_tiny(folder)


# --- the real files ------------------------------------------------------------------------------------------------
@needs_weights
@pytest.mark.parametrize("name", ["taef2_encoder", "taef2_decoder", "taesana_encoder"])
def test_module_equals_the_raw_state_dict(name):
    sd, decoder = raw(name), name.endswith("decoder")
    torch.manual_seed(0)
    x = torch.randn(2, 32, 8, 12) if decoder else torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        got = (TinyDecoder if decoder else TinyEncoder).from_state_dict(sd, name)(x)
        want = reference(sd, x, decoder)
    assert got.shape == want.shape
    assert (got - want).abs().max() <= 1e-5


@needs_weights
def test_autoencoder_converts_minus_one_one_pixels():
    ae = load_tiny(WEIGHTS / "taef2_encoder.pth")
    torch.manual_seed(1)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert (ae.encode(x * 2 - 1) - reference(raw("taef2_encoder"), x, False)).abs().max() <= 1e-5


@needs_weights
@needs_cxr
def test_taef2_round_trips_real_chest_xrays(taef2):
    """8 Kermany test CXRs (4 normal, 4 pneumonia) at 256 px; NOTES.md: 38.3 dB mean over 20 (33.8 at 128 px,
    30.1 at 64 px). Measured here with these 8: 38.8 dB (34.5 at 128 px, 31.0 at 64 px)."""
    from PIL import Image

    files = sorted((CXR / "NORMAL").glob("*.jpeg"))[:4] + sorted((CXR / "PNEUMONIA").glob("*.jpeg"))[:4]
    assert len(files) == 8
    size = 256
    x = (
        torch.stack(
            [
                torch.from_numpy(np.array(Image.open(f).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)))
                for f in files
            ]
        )
        .permute(0, 3, 1, 2)
        .float()
        / 255
    )
    with torch.no_grad():
        z = taef2.encode(x * 2 - 1)
        y = ((taef2.decode(z) + 1) / 2).clamp(0, 1)
    assert z.shape == (8, 32, size // 8, size // 8)
    psnr = 10 * torch.log10(1 / ((y - x) ** 2).flatten(1).mean(1))
    print(f"TAEF2 round trip, 8 Kermany test CXRs at {size} px: mean {psnr.mean():.2f} dB, min {psnr.min():.2f} dB")
    assert psnr.mean() >= 30, psnr.tolist()


@needs_weights
def test_shapes_and_families(taef2):
    taesana = load_tiny(WEIGHTS / "taesana_encoder.pth")
    x = torch.rand(2, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        z = taef2.encode(x)
        assert z.shape == (2, 32, 8, 12) and taef2.decode(z).shape == x.shape
        assert taesana.encode(x).shape == (2, 32, 2, 3)
    assert (taef2.family, taef2.latent_channels, taef2.downsampling_factor, taef2.has_decoder) == ("taef2", 32, 8, True)
    assert (taesana.family, taesana.latent_channels, taesana.downsampling_factor) == ("taesana", 32, 32)
    assert not taesana.has_decoder
    with pytest.raises(LatentgapError, match="encoder-only autoencoder: no decoder"):
        taesana.decode(torch.zeros(1, 32, 2, 2))
    with pytest.raises(LatentgapError, match="multiples of 32"):
        taesana.encode(torch.zeros(1, 3, 48, 64))
    with pytest.raises(LatentgapError, match="3, H, W"):
        taef2.encode(torch.zeros(1, 1, 64, 64))


@needs_weights
def test_layout_facts():
    enc, dec, sana = (read_layout(raw(n), n) for n in ("taef2_encoder", "taef2_decoder", "taesana_encoder"))
    blocks3 = ["block"] * 3
    assert [layer.kind for layer in enc.layers] == ["conv", "block", *(["down", *blocks3] * 3), "conv"]
    assert [layer.kind for layer in dec.layers] == [
        "clamp",
        "conv",
        "relu",
        *blocks3,
        *(["upsample", "conv", *blocks3] * 2),
        "upsample",
        "conv",
        "block",
        "conv",
    ]
    assert [layer.kind for layer in sana.layers] == [
        "down",
        "relu",
        "down",
        "relu",
        "block",
        *(["down", *blocks3] * 3),
        "conv",
    ]
    assert [i for i, layer in enumerate(enc.layers) if layer.pool_channels] == [11, 12, 13]
    assert [i for i, layer in enumerate(dec.layers) if layer.pool_channels] == [3, 4, 5]
    assert {layer.pool_channels for layer in enc.layers + dec.layers} == {0, 256}
    for layout, kind, f, pool, params in (
        (enc, "encoder", 8, True, 1_338_528),
        (dec, "decoder", 8, True, 1_338_499),
        (sana, "encoder", 32, False, 1_256_288),
    ):
        assert (layout.kind, layout.latent_channels, layout.downsampling_factor, layout.width, layout.pool) == (
            kind,
            32,
            f,
            64,
            pool,
        )
        assert layout.parameters == params
    assert sum(p.numel() for p in TinyEncoder.from_state_dict(raw("taef2_encoder")).parameters()) == 1_338_528
    assert sum(p.numel() for p in TinyDecoder.from_state_dict(raw("taef2_decoder")).parameters()) == 1_338_499
    assert sum(p.numel() for p in TinyEncoder.from_state_dict(raw("taesana_encoder")).parameters()) == 1_256_288
    assert (family_name(enc), family_name(dec), family_name(sana)) == ("taef2", "taef2", "taesana")
    assert all(looks_like_tiny_pth(raw(n)) for n in ("taef2_encoder", "taef2_decoder", "taesana_encoder"))


def test_looks_like_tiny_pth_refuses_other_layouts():
    assert not looks_like_tiny_pth({"encoder.layers.0.weight": torch.zeros(1), "encoder.layers.1.conv.0.weight": 0})
    assert not looks_like_tiny_pth({"0.weight": torch.zeros(1)})  # no block
    assert not looks_like_tiny_pth({}) and not looks_like_tiny_pth([("0.weight", 1)])


# --- a TAESD-like model built here with the same key scheme ----------------------------------------------------------
class Blk(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x):
        return F.relu(self.conv(x) + self.skip(x))


class SoftClamp(nn.Module):
    def forward(self, z):
        return 3 * torch.tanh(z / 3)


def taesd_like():
    """A 4-channel f8 encoder/decoder pair, TAESD's scheme at width 8/12 with one skip conv on each side."""
    torch.manual_seed(0)

    def down(c):
        return nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False)

    def up(c):
        return [nn.Upsample(scale_factor=2), nn.Conv2d(c, c, 3, padding=1, bias=False)]

    enc = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        Blk(8, 8),
        down(8),
        Blk(8, 12),
        down(12),
        Blk(12, 12),
        down(12),
        Blk(12, 12),
        nn.Conv2d(12, 4, 3, padding=1),
    )
    dec = nn.Sequential(
        SoftClamp(),
        nn.Conv2d(4, 12, 3, padding=1),
        nn.ReLU(),
        Blk(12, 12),
        *up(12),
        Blk(12, 8),
        *up(8),
        Blk(8, 8),
        *up(8),
        Blk(8, 8),
        nn.Conv2d(8, 3, 3, padding=1),
    )
    return enc.eval(), dec.eval()


def test_constructed_taesd_like_pair(tmp_path):
    enc, dec = taesd_like()
    layout = read_layout(enc.state_dict(), "taesd_encoder.pth")
    assert (layout.latent_channels, layout.downsampling_factor, layout.width, layout.pool) == (4, 8, 12, False)
    assert [i for i, layer in enumerate(layout.layers) if layer.skip] == [3]
    assert family_name(layout) == "taesd"
    assert family_name(read_layout(dec.state_dict())) == "taesd"
    torch.save(enc.state_dict(), tmp_path / "taesd_encoder.pth")
    torch.save(dec.state_dict(), tmp_path / "taesd_decoder.pth")
    ae = load_tiny(tmp_path)
    assert (ae.name, ae.family, ae.has_decoder, ae.latent_channels) == ("taesd", "taesd", True, 4)
    torch.manual_seed(2)
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        z = ae.encode(x * 2 - 1)
        assert (z - enc(x)).abs().max() <= 1e-5 and (z - reference(enc.state_dict(), x, False)).abs().max() <= 1e-5
        assert (ae.decode(z) - (dec(z) * 2 - 1)).abs().max() <= 1e-5
        assert (dec(z) - reference(dec.state_dict(), z, True)).abs().max() <= 1e-5


def test_family_rule():
    enc, _ = taesd_like()
    sd = enc.state_dict()
    sd["8.weight"], sd["8.bias"] = torch.zeros(16, 12, 3, 3), torch.zeros(16)
    assert family_name(read_layout(sd)) == "taef1"
    sd["8.weight"], sd["8.bias"] = torch.zeros(6, 12, 3, 3), torch.zeros(6)
    assert family_name(read_layout(sd)) == "taesd-like-c6-f8"


# --- intake and damaged files ----------------------------------------------------------------------------------------
def one_line_error(path, match):
    with pytest.raises(LatentgapError, match=match) as e:
        load_tiny(path)
    assert "\n" not in str(e.value) and e.value.__cause__ is None, str(e.value)
    return str(e.value)


@needs_weights
@pytest.mark.parametrize("keep", [0, 100, 0.5, -200, -1])
def test_truncated_file_is_one_line_error(tmp_path, keep):
    data = (WEIGHTS / "taef2_encoder.pth").read_bytes()
    cut = data[: int(len(data) * keep) if isinstance(keep, float) else keep]
    (tmp_path / "taef2_encoder.pth").write_bytes(cut)
    print(one_line_error(tmp_path / "taef2_encoder.pth", r"taef2_encoder\.pth is not a readable \.pth state dict"))


def _rename(sd):
    sd["3.conv.7.weight"] = sd.pop("3.conv.2.weight")


EDITS = {
    "renamed": (_rename, r"key 3\.conv\.7\.weight does not fit the taesd layout .*diffusers AutoencoderTiny"),
    "missing": (lambda sd: sd.pop("12.pool.1.bias"), r"missing 12\.pool\.1\.bias"),
    "extra": (lambda sd: sd.update({"1.skip.weight": torch.zeros(64, 64, 1, 1)}), r"unexpected 1\.skip\.weight"),
    "shape": (lambda sd: sd.update({"14.bias": torch.zeros(31)}), r"key 14\.bias has shape \(31,\)"),
    "channels": (lambda sd: sd.update({"2.weight": torch.zeros(64, 48, 3, 3)}), r"index 2 takes 48 channels"),
    "dtype": (lambda sd: sd.update({"0.bias": torch.zeros(64, dtype=torch.int64)}), r"key 0\.bias holds torch\.int64"),
    "nan": (lambda sd: sd["5.conv.2.weight"].fill_(float("nan")), r"key 5\.conv\.2\.weight holds NaN"),
    "not a dict": (None, r"holds a list, not a state dict"),
}


@needs_weights
@pytest.mark.parametrize("edit", list(EDITS))
def test_rekeyed_file_is_one_line_error(tmp_path, edit):
    change, match = EDITS[edit]
    sd = dict(raw("taef2_encoder"))
    if change is None:
        sd = list(sd.values())
    else:
        change(sd)
    torch.save(sd, tmp_path / "taef2_encoder.pth")
    print(one_line_error(tmp_path / "taef2_encoder.pth", r"^taef2_encoder\.pth.*" + match))


@needs_weights
def test_diffusers_keys_are_sent_to_the_folder_loader():
    sd = {f"encoder.layers.{k}": v for k, v in raw("taef2_encoder").items()}
    with pytest.raises(LatentgapError, match="diffusers AutoencoderTiny.*give its folder instead"):
        read_layout(sd, "taef2.safetensors")


@needs_weights
def test_strict_load_refuses_another_files_weights():
    with pytest.raises(LatentgapError, match=r"^taesana_encoder\.pth: missing 1\.conv\.0\.weight") as e:
        TinyEncoder(read_layout(raw("taef2_encoder"))).load_weights(raw("taesana_encoder"), "taesana_encoder.pth")
    assert "\n" not in str(e.value)
    with pytest.raises(LatentgapError, match="holds a taesd encoder, not the decoder"):
        TinyDecoder.from_state_dict(raw("taef2_encoder"), "taef2_encoder.pth")


@needs_weights
def test_folder_intake(tmp_path):
    one_line_error(WEIGHTS, r"exactly one \*_encoder\.pth, found several \(taef2_encoder\.pth, taesana_encoder\.pth\)")
    one_line_error(tmp_path, r"found none")
    one_line_error(tmp_path / "absent", r"no such file or folder")
    shutil.copy(WEIGHTS / "taef2_decoder.pth", tmp_path)
    one_line_error(tmp_path, r"found none \(it holds taef2_decoder\.pth: give the encoder too\)")
    one_line_error(tmp_path / "taef2_decoder.pth", r"taef2_decoder\.pth is a taesd decoder: give the encoder too")
    shutil.copy(WEIGHTS / "taesana_encoder.pth", tmp_path)
    one_line_error(tmp_path, r"taef2_decoder\.pth does not pair with taesana_encoder\.pth")
    (tmp_path / "taef2_decoder.pth").rename(tmp_path / "taesana_decoder.pth")
    one_line_error(tmp_path, r"decoder \(c32, f8\) does not pair with the encoder \(c32, f32\)")
