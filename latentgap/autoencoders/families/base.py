"""The one interface every autoencoder family answers (edm2's `encoders.py`: pixels <-> latents, one code path).

A family is a frozen dataclass of metadata (channels, factor, the family's own scaling/shift, hub ids, detection
order) whose methods say how its models behave: `encode` / `decode` between pixels (N, C, H, W) in [-1, 1] and
latents (N, c, H/f, W/f), `normalize` (the family's own latent scaling), `recognizes` (detection from a state
dict's shapes) and `recognizes_config` (from a diffusers config.json), how a single file becomes a config and
diffusers keys, a tiny random config for tests, and the zoo trainer's loss. Defaults here are the plain
diffusers behaviour; each family file overrides what differs and calls `register` where the family is defined.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, kw_only=True)
class Family:
    name: str
    model_class: str  # "diffusers.AutoencoderKL" or a latentgap class path
    in_channels: int
    latent_channels: int  # of the full-size model (a checkpoint's own shapes win)
    downsampling_factor: int  # of the full-size model (`factor(config)` for a concrete one)
    scaling_factor: float = 1.0  # the family's own latent scaling (the non-paper normalisation)
    shift_factor: float = 0.0
    description: str = ""
    hub_ids: tuple[str, ...] = ()  # public repos holding this family (diffusers layout)
    paper_name: str | None = None  # the name in "The Learnability Gap in Medical Latent Diffusion"
    shares_architecture_with: tuple[str, ...] = ()  # detection can only guess between these: --family overrides
    detection_order: int | None = None  # lower is tried first (most specific first); None: never detected itself
    config_marks: tuple[tuple[str, object], ...] = ()  # config.json values that tell it from a sibling class
    weightless: bool = False  # built from code alone (the control AEs): nothing to detect, load or train
    intake: str = "diffusers"  # how weights arrive: "diffusers" (config + state dict) | "taesd-pth" | "code"

    # --- pixels <-> latents --------------------------------------------------------------------------------------
    def encode(self, model, x, vq_latent: str | None = None):
        """(N, in_channels, H, W) in [-1, 1] -> latent (N, c, H/f, W/f): the posterior mode (the paper), not a
        sample. `vq_latent` ("prequant" | "quantized") matters to VQ families only."""
        return model.encode(x).latent_dist.mode()

    def decode(self, model, z):
        """Latent (N, c, h, w) -> pixels (N, out_channels, h·f, w·f) in [-1, 1] (not clamped)."""
        return model.decode(z).sample

    def latent_variant(self, vq_latent: str) -> str:
        """Suffix of the latent cache key for families with more than one latent of the same weights ('' here)."""
        return ""

    def normalize(self, model, config: dict, latents):
        """The family's own latent scaling, (z − shift)·scale, of latents (N, c, h, w) as float32 numpy — the
        alternative to the paper's per-channel normalisation."""
        import numpy as np

        return ((latents - self.shift_factor) * self.scaling_factor).astype(np.float32)

    def factor(self, config: dict) -> int:
        """Spatial factor of a concrete config: every resolution stage but the last halves the size."""
        blocks = config.get("block_out_channels")
        return 2 ** (len(blocks) - 1) if blocks else self.downsampling_factor

    # --- detection -----------------------------------------------------------------------------------------------
    def recognizes(self, shapes: dict[str, tuple[int, ...]]) -> bool:
        """Whether a (prefix-stripped) state dict {key: shape} is this family's; tried in `detection_order`."""
        return False

    def recognizes_config(self, config: dict) -> bool:
        """Whether a diffusers config.json describes this family: its class name and its `config_marks`."""
        return config.get("_class_name") == self.model_class.rpartition(".")[2] and all(
            _same(config.get(key, CONFIG_DEFAULTS.get(key)), value) for key, value in self.config_marks
        )

    # --- single files: state dict -> config and diffusers keys ---------------------------------------------------
    def prepare_state_dict(self, sd: dict) -> dict:
        """The family's own unwrapping of a detected state dict (none by default)."""
        return sd

    def infer_config(self, detection, sd: dict, metadata: dict) -> dict:
        """A full config for a checkpoint: its own saved config (our exports), else the full-size template (a
        different size needs its config.json); families whose widths show in the shapes override this."""
        if "config" in metadata:
            return json.loads(metadata["config"])
        return self.config_template()

    def convert_keys(self, sd: dict, layout: str, config: dict) -> dict:
        """Weights in `layout` ("diffusers" | "ldm") -> the diffusers names `build_model` expects (as they are)."""
        return sd

    # --- building -----------------------------------------------------------------------------------------------
    def build_class(self):
        module, _, cls = self.model_class.rpartition(".")
        return getattr(importlib.import_module(module), cls)

    def build_model(self, config: dict):
        """A randomly initialised model of this family from a diffusers-style config (`_`-keys are metadata)."""
        return self.build_class()(**{k: v for k, v in config.items() if not k.startswith("_")})

    def config_template(self) -> dict:
        """Full-size config (a copy), from data/configs/NAME.json (no hub access)."""
        return dict(_config_file(self.name))

    def config_for_channels(self, config: dict, channels: int) -> dict | None:
        """A config of this model for data with `channels` channels, or None when its channels are fixed (trained
        weights: grayscale is then repeated for RGB AEs, `encode.to_ae_input`). Code-built controls override it."""
        return None

    def tiny_config(self) -> dict:
        """A tiny random config for tests (a few thousand parameters) that round-trips (2, in_channels, 32, 32)."""
        raise NotImplementedError(f"{self.name}: no tiny config")

    # --- the zoo trainer ----------------------------------------------------------------------------------------
    def training_loss(self, model, x, recipe):
        """The zoo trainer's loss on a batch x (N, C, H, W) in [-1, 1]: `reconstruction_loss` of the plain round
        trip (no regulariser); KL and VQ families add theirs."""
        return reconstruction_loss(self.decode(model, self.encode(model, x, None)), x, 0.0, recipe)

    def after_training(self, model, sampler) -> None:
        """What a trained model still needs before it is saved (nothing by default)."""


CONFIG_DEFAULTS = {"use_quant_conv": True}  # what a config.json without the key means


def _same(found, wanted) -> bool:
    return found is wanted if isinstance(wanted, bool) else found == wanted


def kl_training_loss(model, x, recipe):
    """KL autoencoders: reconstruct from a posterior sample, regularise with `recipe.kl_weight` · KL(q(z|x) || N(0, I))
    (Kingma & Welling 2014; the LDM recipe)."""
    posterior = model.encode(x).latent_dist
    rec = model.decode(posterior.sample()).sample
    return reconstruction_loss(rec, x, recipe.kl_weight * posterior.kl().mean(), recipe)


def reconstruction_loss(rec, x, reg, recipe):
    """L1 + image-gradient L1 (weight `recipe.grad_weight`) + the family's regulariser `reg`."""
    loss = (rec - x).abs().mean() + reg
    for dim in (2, 3):
        loss = loss + recipe.grad_weight * (rec.diff(dim=dim) - x.diff(dim=dim)).abs().mean()
    return loss


@cache
def _config_file(name: str) -> dict:
    from latentgap.resources import configs_dir

    return json.loads((configs_dir() / f"{name}.json").read_text())
