"""Load an autoencoder from whatever the user has, safely: a zoo name, a hub id, a diffusers folder, a single file.

Intake routes (`load_autoencoder`):
1. `zoo:NAME` — the embedded mini-zoo (`zoo.py`);
2. a local diffusers folder (`config.json` + weights; a pipeline folder's `vae/` subfolder is found);
3. a single file (`.safetensors`, also `.ckpt`/`.pt`/`.bin`/`.pth`) in diffusers or CompVis/LDM key layout,
   bare or inside a full Stable Diffusion checkpoint (`first_stage_model.` / `vae.` prefixes); the family
   is detected from keys and shapes (`detection.py` asks each family), the config built from those shapes on top
   of the offline template in `data/configs/`;
4. a hub id (`stabilityai/sd-vae-ft-mse`) — through the local Hugging Face cache when offline.

Nothing from a file is executed: safetensors, or `torch.load(weights_only=True)` (pickled code is refused).
Weights are identified by content hash, so a re-upload reuses cached latents.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from latentgap.autoencoders.detection import Detection, detect
from latentgap.autoencoders.families import FAMILIES, VQ_LATENTS, Family, get_family, in_config_order
from latentgap.autoencoders.zoo import ZOO, get_zoo_model, is_built, zoo_path
from latentgap.errors import LatentgapError

WEIGHT_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
MAX_CHECKPOINT_MB = float(os.environ.get("LATENTGAP_MAX_CHECKPOINT_MB", 8192))  # full SD checkpoints are 2–7 GB
MAX_ZIP_ENTRIES = 20_000  # a torch zip holds one entry per tensor; a full SD checkpoint has ~1,200
WRAPPER_PREFIXES = ("first_stage_model.", "vae.", "module.", "model.")
UNET_PREFIX = "model.diffusion_model."
NOT_CHECKPOINTS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}


@dataclass
class LoadedAutoencoder:
    name: str  # how results name it: "zoo:sd-vae-mini", a hub id, or a file/folder name (never a full path)
    family: Family
    model: object  # a diffusers-style autoencoder in eval mode
    weights_hash: str  # sha256 of the weights file(s), 16 hex digits
    source: str  # "zoo" | "diffusers-folder" | "single-file" | "hub"
    config: dict
    layout: str = "diffusers"  # key layout of the weights as found: "diffusers" | "ldm"
    alternatives: tuple[str, ...] = ()  # families with the same architecture (detection is a best guess)
    vq_latent: str = "prequant"  # VQ families: latent before or after the codebook
    notes: list[str] = field(default_factory=list)  # what the loader did (prefix stripped, UNet dropped, ...)

    @property
    def latent_channels(self) -> int:
        return int(self.config.get("latent_channels", self.family.latent_channels))

    @property
    def in_channels(self) -> int:
        return int(self.config.get("in_channels", self.family.in_channels))

    @property
    def downsampling_factor(self) -> int:
        return self.family.factor(self.config)

    @property
    def has_decoder(self) -> bool:
        """False for an encoder-only autoencoder (e.g. the TAESana encoder): no reconstruction arms, no fidelity."""
        return bool(getattr(self.model, "has_decoder", True))

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def encode(self, x):
        """(N, in_channels, H, W) in [-1, 1] -> latent (N, c, H/f, W/f): the posterior mode for KL families."""
        return self.family.encode(self.model, x, self.vq_latent)

    def decode(self, z):
        """Latent (N, c, h, w) -> pixels (N, out_channels, h·f, w·f) in [-1, 1] (not clamped)."""
        return self.family.decode(self.model, z)

    def family_normalize(self, latents):
        """The family's own latent scaling of latents (N, c, h, w), (z − shift)·scale — the alternative to the
        paper's per-channel normalisation; FLUX.2 standardises 2x2 patches with its batch-norm statistics instead."""
        return self.family.normalize(self.model, self.config, latents)

    def for_channels(self, channels: int) -> LoadedAutoencoder:
        """This AE for data with `channels` channels: itself, or (code-built controls) the same control rebuilt for
        them, with its own identity (`weights_hash` keys the latent cache)."""
        config = self.family.config_for_channels(self.config, channels)
        if config is None or config == self.config:
            return self
        model = self.family.build_model(config)
        return replace(self, model=model, config=config, weights_hash=self.family.weights_hash(config))

    def describe(self) -> dict:
        """What `inspect --json` prints."""
        return dict(
            name=self.name,
            family=self.family.name,
            alternatives=list(self.alternatives),
            layout=self.layout,
            source=self.source,
            latent_channels=self.latent_channels,
            in_channels=self.in_channels,
            downsampling_factor=self.downsampling_factor,
            parameters=self.parameters,
            hash=self.weights_hash,
            scaling_factor=self.family.scaling_factor,
            shift_factor=self.family.shift_factor,
            model_class=self.family.model_class,
            has_decoder=self.has_decoder,
            notes=self.notes,
        )


def file_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def detect_family(config: dict, override: str | None = None) -> Family:
    """Family of a diffusers config: the first that recognises it (class name, latent channels, and the values that
    tell siblings apart: SDXL's scaling, SD3's shift); SD vs SDXL share one class, so this is a best guess."""
    if override:
        return get_family(override)
    for family in in_config_order():
        if family.recognizes_config(config):
            return family
    tried = ", ".join(
        f"{f.name} ({f.model_class.rpartition('.')[2]}, {f.latent_channels} ch)" for f in FAMILIES.values()
    )
    raise LatentgapError(
        f"no known family matches {config.get('_class_name')} with {config.get('latent_channels')} "
        f"latent channels; tried: {tried}"
    )


# --- folders -------------------------------------------------------------------------------------------------
def _load_diffusers_folder(folder: Path, family_override: str | None):
    import torch

    if not (folder / "config.json").exists() and (folder / "vae" / "config.json").exists():
        folder = folder / "vae"  # a whole pipeline folder: its autoencoder
    config_file = folder / "config.json"
    weights = sorted(folder.glob("*.safetensors"))
    if not config_file.exists() or not weights:
        raise LatentgapError(
            f"{folder.name}: a diffusers autoencoder folder needs config.json and *.safetensors weights"
        )
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as e:
        raise LatentgapError(f"{folder.name}/config.json is not valid JSON ({e.msg}, line {e.lineno})") from None
    family = detect_family(config, family_override)
    try:
        model = family.build_class().from_pretrained(
            folder, local_files_only=True, use_safetensors=True, low_cpu_mem_usage=False, torch_dtype=torch.float32
        )
    except (OSError, ValueError, RuntimeError, TypeError) as e:
        raise LatentgapError(f"{folder.name}: could not load the weights ({str(e).splitlines()[0][:200]})") from None
    model.eval().requires_grad_(False)
    check_finite(model.state_dict(), folder.name)
    return model, family, dict(model.config), file_hash(weights)


# --- single files: read safely, unwrap, detect, build ---------------------------------------------------------
def read_checkpoint(path: Path, max_mb: float = MAX_CHECKPOINT_MB, name: str | None = None) -> tuple[dict, dict]:
    """(state dict of tensors, safetensors metadata) from one file, executing nothing it contains.

    The content decides how the file is read (a safetensors header, a torch zip, a pickle); the suffix only picks
    the advice when it is none of them. `name`: how messages call the file (default its own name; an upload stored
    under its content hash passes the user's file name).
    """
    import torch

    name = name or path.name
    size = path.stat().st_size
    if size > max_mb * 2**20:
        raise LatentgapError(
            f"{name} is {size / 2**20:,.0f} MB, over the {max_mb:,.0f} MB cap; "
            "raise LATENTGAP_MAX_CHECKPOINT_MB if it is genuine"
        )
    if size == 0:
        raise LatentgapError(f"{name} is empty (0 bytes); download it again or pick the weights file")
    with open(path, "rb") as f:
        head = f.read(132)
    for magic, what in NOT_CHECKPOINTS.items():
        if head.startswith(magic):
            raise LatentgapError(f"{name} is {what}, not a checkpoint; give .safetensors (preferred) or .ckpt weights")
    if head[128:132] == b"DICM":
        raise LatentgapError(
            f"{name} is a DICOM image, not a checkpoint; give .safetensors (preferred) or .ckpt weights"
        )
    if _safetensors_header_length(head) is not None:
        return _read_safetensors(path, name)
    if path.suffix.lower() == ".safetensors" and not _is_torch_container(head):
        raise LatentgapError(
            f"{name} is not a safetensors file: its header is unreadable ({_what_it_is(head)}); pick the "
            "autoencoder's weights file, or export the weights with safetensors.torch.save_file(state_dict, PATH)"
        )
    names = _zip_names(path, name)
    if names is not None:
        if len(names) > MAX_ZIP_ENTRIES:
            raise LatentgapError(f"{name} is a zip with {len(names):,} entries (cap {MAX_ZIP_ENTRIES:,}); refused")
        if not any(n.endswith("data.pkl") for n in names):
            raise LatentgapError(f"{name} is a zip archive but not a torch checkpoint (no data.pkl); refused")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing; the refusal says it
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=False)
    except Exception as e:  # torch raises many types for bad pickles; all mean "refused"
        raise _torch_refusal(path, name, head, e) from None
    if not isinstance(obj, dict):
        raise LatentgapError(f"{name} holds a {type(obj).__name__}, not a state dict of tensors")
    return obj, {}


SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors format's own cap on its JSON header (bytes)
TORCH_ADVICE = (
    "latentgap never runs code from a file: where you trust it, load it once in your own Python and save "
    "its state dict with safetensors.torch.save_file(state_dict, PATH)"
)


def _safetensors_header_length(head: bytes) -> int | None:
    """The JSON header length a safetensors file starts with (little-endian u64, then `{`), or None."""
    if len(head) < 9 or head[8:9] != b"{":
        return None
    n = int.from_bytes(head[:8], "little")
    return n if 2 <= n <= SAFETENSORS_MAX_HEADER else None


def _is_torch_container(head: bytes) -> bool:
    """A zip archive (torch.save since 1.6) or a pickle with a protocol marker (torch's legacy format)."""
    return head.startswith(b"PK\x03\x04") or (len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5)


def _what_it_is(head: bytes) -> str:
    """A few words on what a file that is no checkpoint looks like."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:  # a multi-byte character cut by the 132-byte window still counts as text
        text = head[: e.start].decode("utf-8") if e.start > len(head) - 4 else ""
    if text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return "it is a text file"
    return f"it starts with bytes {head[:8].hex(' ')}"


def _torch_refusal(path: Path, name: str, head: bytes, e: Exception) -> LatentgapError:
    """One line for a file torch.load(weights_only=True) did not read: not a checkpoint at all, a pickle that would
    need code to load, or a damaged checkpoint."""
    text = str(e)
    if not _is_torch_container(head):
        return LatentgapError(
            f"{name} is not a PyTorch checkpoint at all ({_what_it_is(head)}, not the zip archive or pickle that "
            "torch.save writes); pick the autoencoder's weights file (.safetensors preferred, or a .ckpt/.pt)"
        )
    if "Weights only load failed" not in text:
        first = (text.splitlines() or [type(e).__name__])[0].strip()  # an empty or cut file raises with no message
        return LatentgapError(
            f"{name} is a damaged PyTorch checkpoint ({_clip(first)}); it may be truncated: download it again"
        )
    wanted = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    wanted = wanted[1] if wanted else _first_global(path) if head[:1] == b"\x80" else None  # a bare pickle: scan it
    if wanted:
        wanted = _clip("".join(c for c in wanted if c.isprintable()), 80)  # the file's own words: keep them one line
        return LatentgapError(
            f"{name} was refused: its pickle needs code execution to load (it asks for {wanted}, which plain "
            f"weights do not need); {TORCH_ADVICE}"
        )
    opcode = re.search(r"Unsupported operand (\d+)", text)
    detail = f"pickle opcode {opcode[1]}" if opcode else "not plain tensors"
    return LatentgapError(
        f"{name} was refused: it is a pickle that the safe loader (torch.load weights_only=True) cannot read "
        f"({detail}; not written by torch.save); {TORCH_ADVICE}"
    )


def _first_global(path: Path, max_ops: int = 100_000) -> str | None:
    """The first class or function a pickle names (what unpickling it would import and call), read with pickletools:
    nothing is built or run. None when it names none (or is too damaged to tell)."""
    import pickletools

    strings = []
    try:
        with open(path, "rb") as f:
            for i, (op, arg, _) in enumerate(pickletools.genops(f)):
                if op.name in ("GLOBAL", "INST"):
                    return str(arg).replace(" ", ".")
                if op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    return ".".join(strings[-2:])
                if isinstance(arg, str):
                    strings.append(arg)
                if i >= max_ops:
                    return None
    except Exception:  # noqa: BLE001 (pickletools raises several types on damaged input; then we cannot tell)
        return None
    return None


def _clip(text: str, limit: int = 160) -> str:
    """`text` up to `limit` characters, cut at a word with an ellipsis (never mid-word)."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _zip_names(path: Path, name: str) -> list[str] | None:
    """The entries of a zip archive (a torch checkpoint is one), or None when the file is not a zip."""
    try:  # is_zipfile itself raises on some damaged end records (fuzzing found "span multiple disks")
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as z:
            return z.namelist()
    except (zipfile.BadZipFile, UnicodeDecodeError, NotImplementedError, ValueError, OSError) as e:
        raise LatentgapError(f"{name} is a damaged zip archive ({_clip(str(e), 120)}); download it again") from None


def _read_safetensors(path: Path, name: str) -> tuple[dict, dict]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            return {k: f.get_tensor(k) for k in f.keys()}, metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise LatentgapError(
            f"{name} is not a valid safetensors file ({_clip(str(e).splitlines()[0])}); "
            "it may be truncated: download it again"
        ) from None


def unwrap_state_dict(obj: dict, name: str) -> tuple[dict, list[str]]:
    """The autoencoder's tensors with wrapper prefixes removed; a full SD checkpoint keeps only its VAE."""
    import torch

    notes = []
    for nest in ("state_dict", "model_state_dict", "model", "module"):
        if isinstance(obj.get(nest), dict):
            obj, notes = obj[nest], [f"read the nested {nest!r} dict"]
            break
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise LatentgapError(f"{name} holds no tensors; is it a checkpoint?")
    if any(k.startswith(UNET_PREFIX) for k in sd):
        vae = {k: v for k, v in sd.items() if k.startswith(("first_stage_model.", "vae."))}
        if not vae:
            raise LatentgapError(f"{name} is a diffusion-model checkpoint without autoencoder weights")
        notes.append(
            f"full diffusion checkpoint: kept its {len(vae)} autoencoder tensors, dropped {len(sd) - len(vae)}"
        )
        sd = vae
    for prefix in WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in sd):
            sd = {k[len(prefix) :]: v for k, v in sd.items()}
            notes.append(f"stripped the {prefix!r} prefix")
    return sd, notes


def check_finite(sd: dict, name: str) -> None:
    """Refuse NaN/Inf weights (a damaged or hostile file), naming the first bad tensor."""
    import torch

    bad = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise LatentgapError(f"{name} has NaN/Inf weights in {len(bad)} tensors (e.g. {bad[0]}); the file is damaged")


def infer_config(det: Detection, sd: dict, metadata: dict) -> dict:
    """A full config for the checkpoint: its own saved config, else what the family reads from its shapes."""
    return det.family.infer_config(det, sd, metadata)


def to_diffusers_keys(sd: dict, det: Detection, config: dict) -> dict:
    """Weights in the detected key layout -> diffusers names (LDM-layout KL/VQ through diffusers' own converter)."""
    return det.family.convert_keys(sd, det.layout, config)


def _build(family: Family, config: dict, sd: dict, name: str):
    cls = family.build_class()
    kwargs = {k: v for k, v in config.items() if not k.startswith("_")}
    try:
        model = cls.from_config(kwargs)
    except (TypeError, ValueError) as e:
        raise LatentgapError(f"{name}: config does not fit {family.name} ({str(e)[:160]})") from None
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    wrong = [k for k, v in sd.items() if k in expected and tuple(v.shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        detail = (
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
            f"{len(wrong)} with wrong shapes (e.g. {wrong[:2]})"
        )
        raise LatentgapError(
            f"{name} does not match a {family.name} autoencoder: {detail}; if it is another family "
            "pass --family, or give a diffusers folder with its config.json"
        )
    model.load_state_dict(sd, strict=False)  # strict in substance: checked above (BN counters may be absent)
    return model.eval().requires_grad_(False)


def _load_single_file(path: Path, family_override: str | None, max_mb: float, name: str):
    raw, metadata = read_checkpoint(path, max_mb, name)
    sd, notes = unwrap_state_dict(raw, name)
    if family_override is None and "family" in metadata:
        family_override = metadata["family"]
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    try:
        det = detect(shapes, family_override)
    except LatentgapError as e:
        raise LatentgapError(f"{name}: {e}") from None
    sd = det.family.prepare_state_dict(sd)
    config = infer_config(det, sd, metadata)
    try:
        sd = to_diffusers_keys(sd, det, config)
    except (KeyError, IndexError, ValueError, RuntimeError) as e:
        raise LatentgapError(
            f"{name}: LDM keys could not be converted ({e!s:.120}); the file may be incomplete"
        ) from None
    check_finite(sd, name)
    model = _build(det.family, config, sd, name)
    return model, det, dict(model.config), notes


def export_single_file(ae: LoadedAutoencoder, path: Path) -> Path:
    """Save the weights as one .safetensors whose metadata carries family and config (loads without guessing)."""
    from safetensors.torch import save_file

    sd = {k: v.contiguous() for k, v in ae.model.state_dict().items()}
    meta = {
        "family": ae.family.name,
        "config": json.dumps({k: v for k, v in ae.config.items() if not k.startswith("_")}),
    }
    save_file(sd, str(path), metadata=meta)
    return path


# --- hub ids ----------------------------------------------------------------------------------------------------
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _hub_folder(repo_id: str) -> Path:
    """A local snapshot of a hub repo's autoencoder files (from the cache when offline)."""
    from huggingface_hub import snapshot_download

    patterns = ["config.json", "*.safetensors", "vae/config.json", "vae/*.safetensors"]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as e:  # offline, unknown repo, gated repo: all end in the same advice
        raise LatentgapError(
            f"hub id {repo_id!r} could not be fetched ({type(e).__name__}; the hub is unreachable or the repo is not "
            f"cached), and there is no local folder {repo_id}. Download it where there is network (`huggingface-cli download {repo_id} --local-dir DIR`) "
            "and pass --ae DIR"
        ) from None


# --- madebyollin/taesd .pth files (TAEF2, TAESana, TAESD, TAEF1): tiny_pth.py reads them ----------------------
def _is_taesd_pth(path: Path) -> bool:
    """A folder of `*_encoder.pth` / `*_decoder.pth` files without a config.json, or one such file."""
    if path.is_dir():
        pth = any(path.glob("*_encoder.pth")) or any(path.glob("*_decoder.pth"))
        return pth and not (path / "config.json").exists()
    return path.is_file() and path.name.endswith(("_encoder.pth", "_decoder.pth"))


def _load_taesd_pth(path: Path, name: str, source: str) -> LoadedAutoencoder:
    from latentgap.autoencoders.families.taesd_pth import family_of
    from latentgap.autoencoders.tiny_pth import load_tiny

    model = load_tiny(path)
    files = sorted(path.glob("*_encoder.pth")) + sorted(path.glob("*_decoder.pth")) if path.is_dir() else [path]
    if not model.has_decoder:
        files = [f for f in files if f.name.endswith("_encoder.pth")]
    config = dict(
        in_channels=3,
        latent_channels=model.latent_channels,
        downsampling_factor=model.downsampling_factor,
        has_decoder=model.has_decoder,
        tiny_family=model.family,
    )
    notes = [f"madebyollin/taesd .pth layout read from keys and shapes ({model.family})"]
    if not model.has_decoder:
        notes.append("encoder only: reconstruction arms and fidelity loss are not available")
    return LoadedAutoencoder(
        name, get_family(family_of(model)), model, file_hash(files), source, config, layout="taesd-pth", notes=notes
    )


# --- the one entry point ----------------------------------------------------------------------------------------
def _accepted() -> str:
    """What `--ae` takes, for the messages that refuse a reference."""
    zoo = ", ".join("zoo:" + n for n in list(ZOO)[:3])
    return (
        f"give a zoo name ({zoo}, ...; all of them: `python -m latentgap zoo list`), a weights file "
        f"({', '.join(WEIGHT_SUFFIXES)}), a local diffusers folder, or a hub id (owner/name)"
    )


def _looks_like_path(ref: str) -> bool:
    """Meant as a file or folder: a checkpoint suffix, or a path form no hub id has (absolute, ./, ~, a backslash,
    a trailing slash, two or more slashes)."""
    path_form = ref.startswith(("/", ".", "~")) or ref.endswith("/") or "\\" in ref or ref.count("/") > 1
    return path_form or ref.lower().endswith(WEIGHT_SUFFIXES)


def load_autoencoder(
    name_or_path: str,
    family: str | None = None,
    vq_latent: str = "prequant",
    max_mb: float = MAX_CHECKPOINT_MB,
    name: str | None = None,
) -> LoadedAutoencoder:
    """`zoo:NAME` (or a bare zoo NAME), a diffusers folder, a single weights file, or a hub id.

    `name`: what messages and results call a single file (default its file name; the dashboard passes the user's
    own name for an upload it stored under a content hash).
    """
    if vq_latent not in VQ_LATENTS:
        raise LatentgapError(f"--vq-latent {vq_latent!r}: choose {' or '.join(VQ_LATENTS)}")
    path = Path(name_or_path).expanduser()
    if name_or_path.startswith("zoo:") or (name_or_path in ZOO and not path.exists()):
        spec = get_zoo_model(name_or_path)
        if spec.source == "code":  # a control: built from its family's code, identified by its settings
            fam = get_family(spec.family)
            config = {**fam.config_template(), **spec.config}
            model = fam.build_model(config)
            return LoadedAutoencoder(
                f"zoo:{spec.name}", fam, model, fam.weights_hash(config), "zoo", config, layout="code"
            )
        if spec.source == "pretrained":
            return _load_taesd_pth(zoo_path(spec.name), f"zoo:{spec.name}", "zoo")
        if not is_built(spec.name):
            raise LatentgapError(
                f"zoo model {spec.name!r} has no weights in {zoo_path(spec.name)}; run `python -m latentgap zoo build`"
            )
        model, fam, config, h = _load_diffusers_folder(zoo_path(spec.name), family or spec.family)
        return LoadedAutoencoder(f"zoo:{spec.name}", fam, model, h, "zoo", config, vq_latent=vq_latent)
    if _is_taesd_pth(path):
        return _load_taesd_pth(path, path.name, "taesd-pth")
    if path.is_dir():
        model, fam, config, h = _load_diffusers_folder(path, family)
        return LoadedAutoencoder(path.name, fam, model, h, "diffusers-folder", config, vq_latent=vq_latent)
    if path.is_file():
        shown = name or path.name
        if path.suffix.lower() not in WEIGHT_SUFFIXES:
            raise LatentgapError(f"{shown}: expected a weights file ({', '.join(WEIGHT_SUFFIXES)}) or a folder")
        model, det, config, notes = _load_single_file(path, family, max_mb, shown)
        return LoadedAutoencoder(
            shown,
            det.family,
            model,
            file_hash([path]),
            "single-file",
            config,
            det.layout,
            det.alternatives,
            vq_latent,
            notes,
        )
    if _looks_like_path(name_or_path):
        raise LatentgapError(f"{name_or_path} does not exist (no such file or folder); {_accepted()}")
    if HUB_ID.match(name_or_path):
        model, fam, config, h = _load_diffusers_folder(_hub_folder(name_or_path), family)
        return LoadedAutoencoder(name_or_path, fam, model, h, "hub", config, vq_latent=vq_latent)
    raise LatentgapError(f"unknown autoencoder {name_or_path!r}: {_accepted()}")
