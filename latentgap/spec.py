"""Typed specs: a diagnosis request (`DiagnosisSpec`) and the compute budgets it runs under (`Profile`).

Saved as JSON with every result, so a stored number always says how it was made.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from latentgap.arms import ARMS
from latentgap.classifiers.train import TrainConfig
from latentgap.errors import LatentgapError

MIN_IMAGES = 50  # fewer cannot fill five patient-grouped folds and the 10-nearest-neighbour structure statistics


def check_train_fractions(fractions: tuple[float, ...]) -> tuple[float, ...]:
    """Fractions of the training split for the learning curve: each in (0, 1], distinct, ascending, 1 included."""
    text = ",".join(f"{f:g}" for f in fractions)
    if not fractions or any(not 0 < f <= 1 for f in fractions) or len(set(fractions)) != len(fractions):
        raise LatentgapError(f"--train-fractions {text}: give distinct fractions in (0, 1], e.g. 0.25,0.5,1")
    if 1.0 not in fractions:
        raise LatentgapError(f"--train-fractions {text}: include 1 (the full training split is the curve's last point)")
    return tuple(sorted(fractions))


def parse_train_fractions(fractions) -> tuple[float, ...]:
    """`--train-fractions`: "0.25,0.5,1" (or a list of numbers) -> (0.25, 0.5, 1.0); see `check_train_fractions`."""
    items = fractions.split(",") if isinstance(fractions, str) else fractions
    try:
        out = tuple(float(str(f).strip()) for f in items)
    except ValueError:
        raise LatentgapError(f"--train-fractions {fractions!r}: give fractions in (0, 1] like 0.25,0.5,1") from None
    return check_train_fractions(out)


@dataclass(frozen=True)
class Profile:
    """Compute budget. `paper` follows the paper (GPU); `quick` is a CPU-sized scale-down of it."""

    name: str
    resolution: int  # AE input size, px
    classifier_resolution: int  # image/reconstruction classifier input size, px
    n_images: int | None  # images drawn from an embedded benchmark (None: its default)
    folds: tuple[int, ...]  # of the paper's 5-fold group protocol
    image_model: dict  # ResNet kwargs
    latent_model: dict  # ConvNeXt kwargs
    train: TrainConfig
    encode_batch: int
    bootstrap: int  # bootstrap resamples for CIs
    deviations: str  # how it departs from the paper, written into every result
    distill_lr: float = 5e-4  # the paper's learning rate for distillation runs
    noise_levels: int = 32  # EDM/Karras schedule levels used for noise training
    train_sigma_max: float = 80.0  # noise training uses the schedule's levels up to this σ
    noise_levels_eval: int = 32  # of which evaluated for the per-noise-level curves
    small_latent_stem: bool = False  # ResNet on latent grids (latent-resnet) with a 3x3/1 stem, no max-pool
    min_latent: int = 4  # an AE whose latent would be smaller than this a side gets a larger input (`ae_resolution`)
    smoke: bool = False  # a run-through check, not a measurement: statistics across runs leave it out
    seeds: tuple[int, ...] = (0,)  # replicate seeds when the spec names none, counted from its `seed` (quick: the
    # seed alone; standard: seed, seed + 1, seed + 2)
    train_fractions: tuple[float, ...] = (1.0,)  # learning curve: each replicate also trains every arm on these
    # nested whole-group fractions of its training split (1.0: the replicate itself; `datasets.splits.nested_subsets`)
    arms: tuple[str, ...] = (
        "image",
        "reconstruction",
        "latent",
        "image-s2d",
        "reconstruction-s2d",
        "latent-resnet",
        "latent-noise",
        "latent-film",
        "latent-film-distilled",
    )

    def ae_resolution(self, factor: int) -> int:
        """AE input size, px, for an AE with downsampling `factor`: the profile's `resolution`, raised for deep
        compression so that the latent keeps at least `min_latent` x `min_latent` tokens (quick: f32 families get
        128 px and a 4x4 latent instead of 2x2; the classifiers on pixels still see `classifier_resolution`)."""
        return max(self.resolution, self.min_latent * factor)

    def __post_init__(self):
        assert self.seeds and self.seeds[0] == 0, self.seeds  # the spec's own seed is always the first replicate
        assert check_train_fractions(self.train_fractions) == self.train_fractions  # ascending, 1.0 last
        assert self.arms[0] == "image" and {"reconstruction", "latent"} <= set(self.arms), self.arms  # teacher first
        assert set(self.arms) <= set(ARMS), self.arms


# how every profile departs from the paper and the authors' code (MischaD/LearnabilityGap), stored with each run
PAPER_DEVIATIONS = (
    "random initialisation (ImageNet weights are not reachable offline); image and reconstruction inputs "
    "standardised with train-split pixel statistics, not ImageNet's; LDAM on a cosine (normed) head as in Cao et al. "
    "2019, where the authors' code has a linear head (distillation compares raw logits, i.e. cosines, before the "
    "x30); patience counted afresh at the DRW epoch and stopping only from then on; noise-trained models get EDM's "
    "input scaling c_in = 1/sqrt(σ² + σ_data²) (the authors feed x + σ·ε unscaled); EDM2's forced weight "
    "re-normalisation of the magnitude-preserving layers left out; the noise stage of distillation trains the whole "
    "network (the authors' script optimises only the classification head)."
)

QUICK = Profile(
    name="quick",
    resolution=64,
    classifier_resolution=64,
    n_images=2400,
    folds=(0,),
    image_model=dict(layers=(1, 1, 1, 1), width=16, block="basic"),
    latent_model=dict(depths=(1, 1, 1, 1), dims=(32, 64, 128, 256), stem_stride=1, drop_path=0.0, layer_scale=0.1),
    train=TrainConfig(  # tuned on the null control (README: "Quick recipe, tuned on controls")
        epochs=60,
        batch_size=32,
        lr=1e-3,
        loss="ldam",
        drw_epoch=20,
        patience=15,
        optimizer="adamw",
        weight_decay=0.05,
        warmup_epochs=3,
        schedule="cosine",
        val_ema=0.5,
    ),
    encode_batch=32,
    bootstrap=500,
    distill_lr=1e-3,
    noise_levels_eval=10,
    train_sigma_max=2.0,
    small_latent_stem=True,
    deviations="CPU scale-down: 64 px inputs (128 px for f32 autoencoders, so that their latent is 4x4); "
    "ResNet-10-style (basic blocks, width 16) instead of ResNet-50 and a 4-block ConvNeXt (dims 32-256, stride-1 "
    "stem for 8x8 latents, layer-scale init 0.1 instead of 1e-6) instead of ConvNeXt-Tiny; one fold (fold 0) of 5. "
    "Recipe tuned on the null control's validation split (README, 'Quick recipe, tuned on controls'): AdamW "
    "(weight decay 0.05 on weights) instead of Adam, lr 1e-3 (also for distillation) with 3 warm-up epochs and a "
    "cosine decay over 60 epochs instead of DRW's 10x drop (class-balanced re-weighting still switches on at epoch "
    "20), batch 32, model selection and early stopping (patience 15, counted from epoch 20) on an EMA (0.5) of "
    "validation balanced accuracy. Noise training on the 32-level schedule's levels with σ <= 2 (4x σ_data; above "
    "it the latent is pure noise and 1,440 images do not suffice to learn through it); noise curves at 10 of the "
    "32 levels; latent-resnet with a 3x3 stride-1 stem and no max-pool on the 8x8 latent grid. Beyond the paper: "
    "matched-architecture arms (image-s2d, reconstruction-s2d). As in the paper profile: " + PAPER_DEVIATIONS,
)
PROFILES: dict[str, Profile] = {
    "quick": QUICK,
    "standard": replace(  # the quick recipe, replicated: the profile the README's tables come from
        QUICK,
        name="standard",
        folds=(0, 1, 2, 3, 4),
        seeds=(0, 1, 2),
        train_fractions=(0.25, 0.5, 1.0),
        deviations="The quick profile's models and recipe, replicated: 3 seeds x 5 folds (15 replicates, fold k "
        "trained from seed + k), each replicate also trained on nested 25 % and 50 % of its training split (whole "
        "patients; learning curves): about 21-26x quick's classifier training, for a GPU or a long CPU job. Quick's "
        "deviations otherwise: " + QUICK.deviations,
    ),
    "smoke": replace(  # the quick profile cut to seconds: narrower models, 3 epochs, 4 classifiers
        QUICK,
        name="smoke",
        smoke=True,
        n_images=600,
        image_model=dict(layers=(1, 1, 1, 1), width=8, block="basic"),
        latent_model=dict(depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), stem_stride=1, drop_path=0.0, layer_scale=0.1),
        train=replace(QUICK.train, epochs=3, drw_epoch=2, patience=3, warmup_epochs=1),
        bootstrap=50,
        noise_levels_eval=3,
        arms=("image", "reconstruction", "latent", "reconstruction-s2d", "latent-film"),
        deviations="SMOKE TEST, not a measurement: checks that an autoencoder runs through every step in seconds "
        "(3 epochs, width-8 ResNet, 4 classifiers, 50 bootstrap resamples, 3 noise levels); use quick or paper for numbers.",
    ),
    "paper": Profile(
        name="paper",
        resolution=512,
        classifier_resolution=256,
        n_images=None,
        folds=(0, 1, 2, 3, 4),
        image_model=dict(layers=(3, 4, 6, 3), width=64, block="bottleneck"),
        latent_model=dict(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768), stem_stride=4, drop_path=0.1),
        train=TrainConfig(epochs=60, batch_size=256, lr=1e-4, loss="ldam", drw_epoch=10, patience=15),
        encode_batch=16,
        bootstrap=1000,
        deviations=PAPER_DEVIATIONS,
    ),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise LatentgapError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}")
    return PROFILES[name]


def resolve_home(home: str | os.PathLike | None) -> Path:
    """Workspace folder: `--home`, else $LATENTGAP_HOME, else ./workspace. Created if missing (workspace.py)."""
    from latentgap.workspace import Workspace

    return Workspace.open(home).root


@dataclass(frozen=True)
class DiagnosisSpec:
    """One diagnosis: autoencoder x dataset under a profile, seed(s) and device."""

    autoencoder: str
    dataset: str
    profile: str = "quick"
    seed: int = 0
    seeds: tuple[int, ...] | None = None  # replicates in one run (--seeds 0,1,2); None: `seed` alone. Sets `seed` to
    # the first: data subsampling, structure statistics and the explorer's projection use it
    device: str = "auto"  # auto | cpu | cuda | mps
    max_samples: int | None = None  # reduce the dataset (tests, previews); whole patients are kept
    data_format: str | None = None  # format of a dataset path (detected when None); see datasets/formats/
    data_root: str | None = None  # folder that manifest paths are relative to (default: the manifest's folder)
    folds: str | None = None  # None: the profile's folds (or the dataset's official split); "all"; "0,2"; "official"
    latent_norm: str = "paper"  # "paper": per-channel mean 0 / std 0.5 over train; "family": scaling/shift
    family: str | None = None  # override the detected autoencoder family (SD vs SDXL, FLUX.1 vs SD3 look alike)
    vq_latent: str = "prequant"  # VQ autoencoders: the latent before ("prequant") or after ("quantized") the codebook
    label: str | None = None  # how results name the autoencoder (e.g. an upload's original file name)
    image_weights: str | None = None  # ResNet backbone weights for image/reconstruction classifiers (else random init)
    latent_weights: str | None = None  # ConvNeXt backbone weights for latent classifiers (stem replaced; else random)
    train_fractions: tuple[float, ...] | None = None  # learning curve (--train-fractions 0.25,0.5,1); None: the
    # profile's (1.0 alone but in standard)
    only_arms: tuple[str, ...] | None = None  # --arms: train these of the profile's arms (plus image and latent,
    # always: the reference and the subject); None: all of them
    backend: str = "local"  # "local": in-process; "ray": encoding and training on a Ray cluster (ray_backend.py)
    ray_address: str | None = None  # backend ray: join this cluster ("auto" or HOST:PORT); None: start a local Ray
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        get_profile(self.profile)
        if self.seeds is not None:
            seeds = parse_seeds(self.seeds)
            object.__setattr__(self, "seeds", seeds)  # frozen: normalise a list (from JSON) or text to a tuple
            object.__setattr__(self, "seed", seeds[0])
        if self.train_fractions is not None:  # frozen: normalise a list (from JSON) or text to a tuple
            object.__setattr__(self, "train_fractions", parse_train_fractions(self.train_fractions))
        if self.only_arms is not None:  # frozen: normalise a list (from JSON) or text to a tuple
            object.__setattr__(self, "only_arms", parse_arms(self.only_arms, self._all_arms()))
        if self.device not in ("auto", "cpu", "cuda", "mps"):
            raise LatentgapError(f"--device {self.device!r}: choose auto, cpu, cuda or mps")
        if self.latent_norm not in ("paper", "family"):
            raise LatentgapError(f"latent normalisation {self.latent_norm!r}: choose paper or family")
        if self.vq_latent not in ("prequant", "quantized"):
            raise LatentgapError(f"--vq-latent {self.vq_latent!r}: choose prequant or quantized")
        if self.family is not None:
            from latentgap.autoencoders.families import get_family

            get_family(self.family)
        if self.folds is not None:
            from latentgap.datasets.splits import parse_folds

            parse_folds(self.folds, ())
        for option, path in (("--image-weights", self.image_weights), ("--latent-weights", self.latent_weights)):
            if path is not None and not Path(path).expanduser().is_file():
                raise LatentgapError(f"{option} {path}: no such file; give a .safetensors or .pth backbone state dict")
        if self.backend not in ("local", "ray"):
            raise LatentgapError(f"--backend {self.backend!r}: choose local or ray")
        if self.ray_address and self.backend != "ray":
            raise LatentgapError(f"--ray-address {self.ray_address} needs --backend ray")
        if self.max_samples is not None and self.max_samples < MIN_IMAGES:
            raise LatentgapError(f"--max-samples {self.max_samples} is too small; use at least {MIN_IMAGES}")

    def replicate_seeds(self) -> tuple[int, ...]:
        """The run's replicate seeds: each (seed, fold) pair trains every arm, from training seed seed + fold index.
        Without `seeds`, the profile's (counted from `seed`: quick's is `seed` alone)."""
        return self.seeds or tuple(self.seed + k for k in get_profile(self.profile).seeds)

    def learning_fractions(self) -> tuple[float, ...]:
        """The training-split fractions of the learning curve, ascending, 1.0 last; (1.0,): no curve."""
        return self.train_fractions or get_profile(self.profile).train_fractions

    def arms(self) -> tuple[str, ...]:
        """The classifiers this run trains, in the profile's order (the image arm, the distillation teacher, first):
        the profile's plus random-init ablations of the arms that start from given weights, or `only_arms` of them."""
        return tuple(a for a in self._all_arms() if self.only_arms is None or a in ALWAYS_ARMS + self.only_arms)

    def _all_arms(self) -> tuple[str, ...]:
        extra = ("image-random-init",) * bool(self.image_weights) + ("latent-random-init",) * bool(self.latent_weights)
        return get_profile(self.profile).arms + extra

    def to_dict(self) -> dict:
        d = asdict(self)
        d["profile_settings"] = asdict(get_profile(self.profile))
        return d


ALWAYS_ARMS = ("image", "latent")  # every run trains them: the reference and the subject (explorer, teacher)


def parse_arms(arms, available: tuple[str, ...]) -> tuple[str, ...]:
    """`--arms`: "reconstruction-s2d,latent-film" (or a list) -> a tuple of arms the run's profile trains."""
    out = tuple(a.strip() for a in (arms.split(",") if isinstance(arms, str) else arms) if a.strip())
    unknown = [a for a in out if a not in available]
    if not out or unknown:
        raise LatentgapError(
            f"--arms {','.join(out) or repr(arms)}: {'unknown ' + ', '.join(unknown) if unknown else 'name one'}; "
            f"choose from {', '.join(available)} (image and latent are always trained)"
        )
    return out


def parse_seeds(seeds) -> tuple[int, ...]:
    """`--seeds`: "0,1,2" (or a list of ints) -> (0, 1, 2); distinct, non-negative, in the order given."""
    items = seeds.split(",") if isinstance(seeds, str) else seeds
    try:
        out = tuple(int(str(s).strip()) for s in items)
    except ValueError:
        raise LatentgapError(f"--seeds {seeds!r}: give distinct non-negative integers like 0,1,2") from None
    if not out or len(set(out)) != len(out) or min(out) < 0:
        raise LatentgapError(f"--seeds {seeds!r}: give distinct non-negative integers like 0,1,2")
    return out


def resolve_device(device: str) -> str:
    """'auto' -> cuda if available, else mps, else cpu; an explicit choice is checked."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LatentgapError("--device cuda: no CUDA GPU is visible to torch; use --device cpu or auto")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise LatentgapError("--device mps: MPS is not available; use --device cpu or auto")
    return device
