"""Tiny autoencoders in the madebyollin/taesd `.pth` layout (TAESD, TAESDXL, TAESD3, TAEF1, TAEF2, TAESana's
encoder), rebuilt from the checkpoint's key names and tensor shapes alone.

A file is a plain `nn.Sequential` state dict. Index N holds `N.weight` (+ `N.bias`): a 3x3 conv; or
`N.conv.{0,2,4}.*`: a Block; or nothing: a weightless layer. What each index is (every rule checked on the real
files in `tests/autoencoders/test_tiny_pth.py`):

- Block(c_in, c_out) = ReLU(conv(x) + skip(x)); conv = conv3x3 → ReLU → conv3x3 → ReLU → conv3x3; skip a bias-free
  1x1 conv (`N.skip.weight`) when c_in ≠ c_out, else identity. TAEF2's blocks nearest the latent (encoder 11–13,
  decoder 3–5) also carry `N.pool.{0,1,3}`: bias-free 1x1 conv c → 4c, GroupNorm(4 groups), ReLU, bias-free 1x1
  conv 4c → c, added to the block's input: x ← x + pool(x). Neither the group count nor the placement is in the
  keys; both were measured on 8 real chest X-rays: TAEF2 round trip 34.5 dB at 128 px with 4 groups, ≤ 30.3 dB with
  1, 2, 8, …, 256; 38.8 dB at 256 px with the pool on the block's input, ≤ 36.1 dB with it added beside the convs
  in one part or both, 17 dB (128 px) with it fed to the convs only.
- Encoder: index 0 is a conv from RGB; a bias-free conv is a stride-2 downsample; a weightless index follows a conv
  and is a ReLU, and that conv is stride 2 as well: TAESana's stem, conv s2 → ReLU → conv s2 → ReLU, then the three
  bias-free downsamples, f32 as its README states (the other f32 reading, those indices as 2x2 average pools and no
  ReLU, gives latents that predict each cell's 4x4 colours worse: linear R² 0.85 vs 0.92); the last conv maps to
  the latent channels.
- Decoder: index 0 is weightless: the clamp tanh(z/3)·3; a weightless index before a bias-free conv is a nearest
  x2 upsample; any other weightless index follows a conv and is a ReLU (TAEF2 index 2; an identity there costs
  8 dB at 128 px); the last conv maps to RGB.

The modules take and give RGB in [0, 1]; `TinyAutoencoder` speaks latentgap's [-1, 1]. No scaling factor: latents
are the raw output of the encoder. Loading never runs code from a file (`torch.load(weights_only=True)`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from latentgap.errors import LatentgapError

KINDS = ("encoder", "decoder")
LAYER_KINDS = ("conv", "down", "block", "relu", "upsample", "clamp")
POOL_GROUPS = 4  # GroupNorm groups of the pool branch: measured, not in the keys (see the module docstring)
KEY = re.compile(r"(\d+)\.((?:conv\.[024]|skip|pool\.[013])\.)?(weight|bias)")
EXPECTED_KEYS = "N.weight, N.bias, N.conv.{0,2,4}.weight/bias, N.skip.weight, N.pool.{0,1,3}.weight/bias"


@dataclass(frozen=True)
class Layer:
    """One index of the `nn.Sequential`. kind: "conv" (3x3, stride 1), "down" (3x3, stride 2), "block", and the
    weightless "relu", "upsample" (nearest x2) and "clamp" (tanh(x/3)·3); channels in and out (equal when
    weightless); bias: convs only; skip, pool_channels (0: no pool branch): blocks only."""

    kind: str
    in_channels: int
    out_channels: int
    bias: bool = False
    skip: bool = False
    pool_channels: int = 0

    def __post_init__(self):
        assert self.kind in LAYER_KINDS, self.kind

    def shapes(self, index: int) -> dict[str, tuple[int, ...]]:
        """{key: shape} this layer holds in the state dict."""
        i, o, n = self.in_channels, self.out_channels, f"{index}."
        if self.kind in ("conv", "down"):
            return {n + "weight": (o, i, 3, 3), **({n + "bias": (o,)} if self.bias else {})}
        if self.kind != "block":
            return {}
        out = {}
        for j, c in ((0, i), (2, o), (4, o)):
            out |= {f"{n}conv.{j}.weight": (o, c, 3, 3), f"{n}conv.{j}.bias": (o,)}
        if self.skip:
            out[n + "skip.weight"] = (o, i, 1, 1)
        if p := self.pool_channels:
            out |= {
                n + "pool.0.weight": (p, i, 1, 1),
                n + "pool.1.weight": (p,),
                n + "pool.1.bias": (p,),
                n + "pool.3.weight": (i, p, 1, 1),
            }
        return out


@dataclass(frozen=True)
class Layout:
    """What a taesd-layout state dict holds: an encoder (RGB → latent) or a decoder (latent → RGB); `layers[i]` is
    index i of the Sequential; downsampling_factor = 2**(stride-2 convs) or 2**(upsamples); width: the blocks'."""

    kind: str
    layers: tuple[Layer, ...]
    latent_channels: int
    downsampling_factor: int
    width: int
    pool: bool  # some block carries a pool branch (TAEF2)

    def __post_init__(self):
        assert self.kind in KINDS, self.kind
        assert self.downsampling_factor >= 1 and self.downsampling_factor & (self.downsampling_factor - 1) == 0

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """{key: shape} of the whole state dict."""
        return {k: s for i, layer in enumerate(self.layers) for k, s in layer.shapes(i).items()}

    @property
    def parameters(self) -> int:
        return sum(torch.Size(s).numel() for s in self.shapes().values())


def family_name(layout: Layout) -> str:
    """The family a layout belongs to, by latent channels, factor and pool branches. TAESDXL has TAESD's layout and
    TAESD3 has TAEF1's: keys cannot tell them apart, so those two names stand for both."""
    c, f = layout.latent_channels, layout.downsampling_factor
    if c == 32 and f == 32:
        return "taesana"
    if c == 32 and f == 8 and layout.pool:
        return "taef2"
    if f == 8 and c in (4, 16):
        return {4: "taesd", 16: "taef1"}[c]
    return f"taesd-like-c{c}-f{f}" + ("-pool" if layout.pool else "")  # a variant no release is known to have


def looks_like_tiny_pth(state_dict) -> bool:
    """Cheap check for the caller's detection: every key starts with an index ("0.weight") and some index holds a
    Block ("1.conv.0.weight"). Damaged files of this layout pass, so `read_layout` can say what is wrong."""
    if not isinstance(state_dict, Mapping) or not state_dict:
        return False
    keys = list(state_dict)
    return all(isinstance(k, str) and re.match(r"\d+\.", k) for k in keys) and any(
        re.fullmatch(r"\d+\.conv\.0\.weight", k) for k in keys
    )


# --- reading the layout off the keys -------------------------------------------------------------------------------
def read_layout(state_dict, source: str = "state dict") -> Layout:
    """The Layout of a taesd-layout state dict; LatentgapError (one line, naming `source`) for anything else."""
    if not isinstance(state_dict, Mapping) or not state_dict:
        raise LatentgapError(
            f"{source}: holds {type(state_dict).__name__}, not a state dict of tensors; "
            "give a madebyollin/taesd *_encoder.pth / *_decoder.pth"
        )
    held: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state_dict.items():
        m = KEY.fullmatch(key) if isinstance(key, str) else None
        if m is None:
            hint = (
                " it looks like a diffusers AutoencoderTiny (encoder.layers.N…): give its folder instead"
                if str(key).startswith(("encoder.", "decoder."))
                else " is it a diffusers AutoencoderTiny? give its folder instead"
            )
            raise LatentgapError(f"{source}: key {key} does not fit the taesd layout (expected {EXPECTED_KEYS});{hint}")
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            raise LatentgapError(
                f"{source}: key {key} holds {getattr(value, 'dtype', type(value).__name__)}, "
                "not floating-point weights; the file is damaged: use the original"
            )
        held.setdefault(int(m.group(1)), {})[key[len(m.group(1)) + 1 :]] = value

    # --- what each index is ---
    n = max(held) + 1
    found: list[Layer | None] = []
    for i in range(n):
        t = held.get(i)
        if t is None:
            found.append(None)  # weightless: decided below, from its neighbours
        elif "conv.0.weight" in t:
            w = t["conv.0.weight"]
            _need(w.ndim == 4, source, f"key {i}.conv.0.weight has shape {tuple(w.shape)}, not a 3x3 conv's")
            pool = t.get("pool.0.weight")
            found.append(
                Layer(
                    "block",
                    w.shape[1],
                    w.shape[0],
                    skip="skip.weight" in t,
                    pool_channels=pool.shape[0] if pool is not None else 0,
                )
            )
        elif "weight" in t:
            w = t["weight"]
            _need(w.ndim == 4, source, f"key {i}.weight has shape {tuple(w.shape)}, not a 3x3 conv's")
            found.append(Layer("conv", w.shape[1], w.shape[0], bias="bias" in t))
        else:
            raise LatentgapError(
                f"{source}: index {i} holds only {', '.join(f'{i}.{k}' for k in t)}: neither a conv "
                f"({i}.weight) nor a Block ({i}.conv.0.weight); the file is damaged or re-keyed: "
                "use the original madebyollin/taesd file"
            )
    if found[0] is not None and found[0].kind == "conv" and found[0].in_channels == 3:
        kind = "encoder"
    elif found[0] is None and found[-1] is not None and found[-1].kind == "conv" and found[-1].out_channels == 3:
        kind = "decoder"
    else:
        first = "weightless" if found[0] is None else f"a {found[0].kind} from {found[0].in_channels} channels"
        raise LatentgapError(
            f"{source}: neither a taesd encoder (index 0 a conv from RGB) nor a decoder (index 0 "
            f"the weightless clamp, the last index a conv to RGB); index 0 is {first}"
        )

    layers: list[Layer] = []
    for i, layer in enumerate(found):
        prev = layers[-1] if layers else None
        nxt = found[i + 1] if i + 1 < n else None
        if layer is None:
            c = prev.out_channels if prev else next(x for x in found if x is not None).in_channels
            if i == 0:
                layers.append(Layer("clamp", c, c))
            elif kind == "decoder" and nxt is not None and nxt.kind == "conv" and not nxt.bias:
                layers.append(Layer("upsample", c, c))
            elif prev is not None and prev.kind in ("conv", "down"):
                if kind == "encoder":
                    layers[-1] = Layer("down", prev.in_channels, prev.out_channels, bias=prev.bias)
                layers.append(Layer("relu", c, c))
            else:
                raise LatentgapError(
                    f"{source}: weightless index {i} after a {prev.kind} fits no taesd layer (a ReLU "
                    "follows a conv, an upsample precedes a bias-free conv); the file is damaged or "
                    "re-keyed: use the original madebyollin/taesd file"
                )
        elif kind == "encoder" and layer.kind == "conv" and not layer.bias and i < n - 1:
            layers.append(Layer("down", layer.in_channels, layer.out_channels))
        else:
            layers.append(layer)
        if prev is not None and layers[-1].in_channels != prev.out_channels:
            raise LatentgapError(
                f"{source}: index {i} takes {layers[-1].in_channels} channels but index {i - 1} "
                f"gives {prev.out_channels}; the file is damaged or re-keyed: use the original"
            )

    # --- the whole key set against what those layers hold ---
    blocks = [layer for layer in layers if layer.kind == "block"]
    for i, layer in enumerate(layers):
        _need(
            layer.pool_channels % POOL_GROUPS == 0,
            source,
            f"index {i}'s pool branch has {layer.pool_channels} channels, not a multiple of {POOL_GROUPS} groups",
        )
    layout = Layout(
        kind=kind,
        layers=tuple(layers),
        latent_channels=layers[-1].out_channels if kind == "encoder" else layers[0].in_channels,
        downsampling_factor=2 ** sum(layer.kind == ("down" if kind == "encoder" else "upsample") for layer in layers),
        width=max(layer.out_channels for layer in blocks or layers[:-1]),
        pool=any(layer.pool_channels for layer in blocks),
    )
    check_shapes(layout.shapes(), state_dict, source)
    return layout


def check_shapes(want: Mapping[str, tuple[int, ...]], state_dict: Mapping, source: str) -> None:
    """LatentgapError (one line) unless `state_dict` holds exactly the keys of `want`, with those shapes."""
    missing, extra = [k for k in want if k not in state_dict], [k for k in state_dict if k not in want]
    if missing or extra:
        parts = [f"{what} {_few(keys)}" for what, keys in (("missing", missing), ("unexpected", extra)) if keys]
        raise LatentgapError(
            f"{source}: {'; '.join(parts)} for the taesd layout its other keys describe; the file is "
            "damaged or re-keyed: use the original madebyollin/taesd file"
        )
    for k, shape in want.items():
        got = tuple(state_dict[k].shape)
        _need(
            got == tuple(shape),
            source,
            f"key {k} has shape {got} but the taesd layout its other keys describe "
            f"needs {tuple(shape)}; the file is damaged or re-keyed: use the original",
        )


def _need(ok: bool, source: str, what: str) -> None:
    if not ok:
        raise LatentgapError(f"{source}: {what}")


def _few(keys: list[str], k: int = 3) -> str:
    return ", ".join(keys[:k]) + (f" (+{len(keys) - k} more)" if len(keys) > k else "")


# --- the modules ----------------------------------------------------------------------------------------------------
class Block(nn.Module):
    """(N, c_in, H, W) → (N, c_out, H, W): ReLU(conv(x) + skip(x)), after x ← x + pool(x) when there is a pool."""

    def __init__(self, c_in: int, c_out: int, pool_channels: int = 0):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()
        self.pool = None
        if pool_channels:
            self.pool = nn.Sequential(
                nn.Conv2d(c_in, pool_channels, 1, bias=False),
                nn.GroupNorm(POOL_GROUPS, pool_channels),
                nn.ReLU(),
                nn.Conv2d(pool_channels, c_in, 1, bias=False),
            )
        self.fuse = nn.ReLU()

    def forward(self, x):
        if self.pool is not None:
            x = x + self.pool(x)
        return self.fuse(self.conv(x) + self.skip(x))


class Clamp(nn.Module):
    """Soft clamp of decoder input latents to (-3, 3): tanh(z/3)·3."""

    def forward(self, z):
        return torch.tanh(z / 3) * 3


def build_layers(layout: Layout) -> nn.Sequential:
    """The Sequential a layout describes, with random weights; its state-dict keys are the file's."""
    modules = []
    for layer in layout.layers:
        i, o = layer.in_channels, layer.out_channels
        if layer.kind in ("conv", "down"):
            modules.append(nn.Conv2d(i, o, 3, stride=1 + (layer.kind == "down"), padding=1, bias=layer.bias))
        elif layer.kind == "block":
            modules.append(Block(i, o, layer.pool_channels))
        elif layer.kind == "upsample":
            modules.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            modules.append(Clamp() if layer.kind == "clamp" else nn.ReLU())
    return nn.Sequential(*modules)


class _TinyPart(nn.Module):
    kind = ""

    def __init__(self, layout: Layout):
        super().__init__()
        if layout.kind != self.kind:
            raise LatentgapError(
                f"{type(self).__name__} is built from a taesd {self.kind}'s layout, not a {layout.kind}'s"
            )
        self.layout = layout
        self.layers = build_layers(layout)

    @classmethod
    def from_state_dict(cls, state_dict, source: str = "state dict"):
        """Read the layout off `state_dict`, build, load it strictly; in eval mode, without gradients."""
        layout = read_layout(state_dict, source)
        if layout.kind != cls.kind:
            raise LatentgapError(f"{source} holds a taesd {layout.kind}, not the {cls.kind} expected there")
        return cls(layout).load_weights(state_dict, source).eval().requires_grad_(False)

    def load_weights(self, state_dict, source: str = "state dict"):
        """Load strictly (every key used, every shape equal; fp16 → fp32) or raise a one-line LatentgapError."""
        want = {k: tuple(v.shape) for k, v in self.layers.state_dict().items()}
        check_shapes(want, state_dict, source)
        for k, v in state_dict.items():
            _need(
                bool(torch.isfinite(v).all()),
                source,
                f"key {k} holds NaN or infinite values; the file is damaged: use the original",
            )
        self.layers.load_state_dict({k: v.float() for k, v in state_dict.items()}, strict=True)
        return self

    def forward(self, x):
        return self.layers(x)


class TinyEncoder(_TinyPart):
    """RGB (N, 3, H, W) in [0, 1] → latent (N, c, H/f, W/f)."""

    kind = "encoder"


class TinyDecoder(_TinyPart):
    """Latent (N, c, h, w) → RGB (N, 3, h·f, w·f), about [0, 1] (not clamped)."""

    kind = "decoder"


class TinyAutoencoder(nn.Module):
    """A taesd-layout encoder and, optionally, its decoder, speaking latentgap's pixels in [-1, 1]."""

    def __init__(self, encoder: TinyEncoder, decoder: TinyDecoder | None = None, name: str = ""):
        super().__init__()
        e = encoder.layout
        if decoder is not None:
            d = decoder.layout
            if (d.latent_channels, d.downsampling_factor) != (e.latent_channels, e.downsampling_factor):
                raise LatentgapError(
                    f"{name or 'tiny autoencoder'}: the decoder (c{d.latent_channels}, f{d.downsampling_factor}) "
                    f"does not pair with the encoder (c{e.latent_channels}, f{e.downsampling_factor}); give the "
                    "decoder released with that encoder"
                )
        self.encoder, self.decoder = encoder, decoder
        self.name = name or family_name(e)

    @property
    def latent_channels(self) -> int:
        return self.encoder.layout.latent_channels

    @property
    def downsampling_factor(self) -> int:
        return self.encoder.layout.downsampling_factor

    @property
    def has_decoder(self) -> bool:
        return self.decoder is not None

    @property
    def family(self) -> str:
        return family_name(self.encoder.layout)

    def encode(self, x):
        """(N, 3, H, W) in [-1, 1], H and W multiples of f → latent (N, c, H/f, W/f)."""
        f = self.downsampling_factor
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % f or x.shape[3] % f:
            raise LatentgapError(
                f"{self.name} encodes (N, 3, H, W) with H and W multiples of {f}, got "
                f"{tuple(x.shape)}; repeat gray images to 3 channels, pad or resize"
            )
        return self.encoder((x + 1) / 2)

    def decode(self, z):
        """Latent (N, c, h, w) → (N, 3, h·f, w·f) in [-1, 1] (not clamped)."""
        if self.decoder is None:
            raise LatentgapError(
                f"{self.name}: encoder-only autoencoder: no decoder; give the folder holding its "
                "*_decoder.pth to reconstruct"
            )
        if z.ndim != 4 or z.shape[1] != self.latent_channels:
            raise LatentgapError(f"{self.name} decodes (N, {self.latent_channels}, h, w), got {tuple(z.shape)}")
        return self.decoder(z) * 2 - 1

    def forward(self, x):
        """Round trip: (N, 3, H, W) in [-1, 1] → reconstruction in [-1, 1]."""
        return self.decode(self.encode(x))


# --- intake -------------------------------------------------------------------------------------------------------
def read_pth(path: Path) -> dict:
    """The state dict in a `.pth` file, executing nothing it contains; one-line LatentgapError when unreadable."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
    except Exception as e:  # torch raises many types for cut or foreign files; all mean "unreadable"
        msg = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0][:160]  # miniz: 3 sentences
        raise LatentgapError(
            f"{path.name} is not a readable .pth state dict ({msg}); if it was cut short, copy or download it again"
        ) from None
    if not isinstance(obj, Mapping):
        raise LatentgapError(
            f"{path.name} holds a {type(obj).__name__}, not a state dict; give a madebyollin/taesd "
            "*_encoder.pth / *_decoder.pth"
        )
    return dict(obj)


def load_tiny(path) -> TinyAutoencoder:
    """A taesd-layout autoencoder from a folder holding one `*_encoder.pth` (+ its `*_decoder.pth`, optional) or
    from one encoder file (encoder only). A decoder alone is refused: latentgap needs `encode`."""
    path = Path(path)
    if path.is_dir():
        encoders, decoders = sorted(path.glob("*_encoder.pth")), sorted(path.glob("*_decoder.pth"))
        if len(encoders) != 1:
            found = f"several ({_few([p.name for p in encoders])})" if encoders else "none"
            also = (
                f" (it holds {_few([p.name for p in decoders])}: give the encoder too)"
                if decoders and not encoders
                else ""
            )
            raise LatentgapError(
                f"{path.name}: a taesd folder needs exactly one *_encoder.pth, found {found}{also}; "
                "give the encoder file itself or a folder with one pair"
            )
        enc_path = encoders[0]
        dec_path = path / (enc_path.name.removesuffix("_encoder.pth") + "_decoder.pth")
        if decoders and not dec_path.exists():
            raise LatentgapError(
                f"{path.name}: {_few([p.name for p in decoders])} does not pair with {enc_path.name} "
                f"(expected {dec_path.name}); rename it or give the encoder file alone"
            )
        dec_path = dec_path if dec_path.exists() else None
    elif path.is_file():
        enc_path, dec_path = path, None
    else:
        raise LatentgapError(f"{path}: no such file or folder; give a folder holding *_encoder.pth (+ *_decoder.pth)")

    enc_sd = read_pth(enc_path)
    layout = read_layout(enc_sd, enc_path.name)
    if layout.kind == "decoder":
        pair = enc_path.with_name(enc_path.name.replace("_decoder.pth", "_encoder.pth"))
        hint = f" ({pair.name} is beside it: give the folder)" if pair != enc_path and pair.exists() else ""
        raise LatentgapError(f"{enc_path.name} is a taesd decoder: give the encoder too{hint}; latentgap needs encode")
    encoder = TinyEncoder(layout).load_weights(enc_sd, enc_path.name).eval().requires_grad_(False)
    decoder = None
    if dec_path is not None:
        decoder = TinyDecoder.from_state_dict(read_pth(dec_path), dec_path.name)
    name = enc_path.name.removesuffix(".pth").removesuffix("_encoder")
    return TinyAutoencoder(encoder, decoder, name=name)
