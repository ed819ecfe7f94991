"""Tune the quick recipe on the null control: does ConvNeXt(s2d(image)) match ResNet(image)?

Trains only the `image` arm (ResNet on pixels) and the `image-s2d` arm (the latent arm's ConvNeXt and recipe on
pixel_unshuffle(image, 8)) of the paper split's fold 0 with `arms.train_arm`, for the quick profile with the
overrides given by --set, and reports VALIDATION balanced accuracy only (at each arm's selected epoch): the test
split is never scored here, so the recipe is chosen without looking at it.

    python scripts/tune_quick_recipe.py --dataset phantom-chest --seeds 0,1,2 --out /tmp/tune/chest.json \\
        --set optimizer=adamw --set weight_decay=0.05 --set layer_scale=0.1

--set KEY=VALUE overrides a TrainConfig field of the quick profile (lr, epochs, optimizer, ...) or, for
`layer_scale` / `drop_path` / `dims` / `depths`, the latent ConvNeXt's; no --set measures the quick profile as frozen in spec.py.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's latentgap, wherever it is run from

from latentgap.arms import FoldTask, prepare_inputs, train_arm
from latentgap.classifiers.train import TrainConfig
from latentgap.datasets import registry
from latentgap.datasets.splits import paper_split
from latentgap.spec import QUICK, DiagnosisSpec, Profile

ARMS = ("image", "image-s2d")
FACTOR = 8  # the f8 null control's grid: 64 px -> 8x8
LATENT_KEYS = ("layer_scale", "drop_path", "dims", "depths")


def candidate(overrides: dict) -> Profile:
    """The quick profile with `overrides` applied to its TrainConfig or latent ConvNeXt kwargs."""
    train_keys = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - train_keys - set(LATENT_KEYS)
    assert not unknown, f"unknown recipe keys {sorted(unknown)}; use TrainConfig fields or {LATENT_KEYS}"
    train = replace(QUICK.train, **{k: v for k, v in overrides.items() if k in train_keys})
    latent = {**QUICK.latent_model, **{k: v for k, v in overrides.items() if k in LATENT_KEYS}}
    return replace(QUICK, train=train, latent_model=latent)


def measure(
    dataset: str, seed: int, profile: Profile, data_root: str | None, cache: Path, arms: tuple[str, ...] = ARMS
) -> dict:
    """Validation balanced accuracy of the arms for one seed (fold 0 of the paper split)."""
    data = registry.load(
        dataset,
        profile.resolution,
        profile.n_images if dataset in registry.BENCHMARKS else None,
        seed=0,
        cache_dir=cache,
        data_root=data_root,
    )
    train, val, test = paper_split(data.labels, data.groups, 0)
    inputs = prepare_inputs(set(arms), data.images, None, None, train, profile.classifier_resolution, FACTOR)
    spec = DiagnosisSpec("zoo:null-s2d", dataset, seed=seed, device="cpu")
    none = np.zeros(0)
    fold = FoldTask(spec, profile, data.labels, (train, val, test), len(data.class_names), "cpu", none, none, arms)
    row = dict(seed=seed, n_train=len(train), n_val=len(val))
    for arm in arms:
        out = train_arm(fold, arm, inputs[arm])  # its test logits are discarded unread
        t = out["training"]
        row[arm] = dict(
            val_balanced_accuracy=t["history"][t["best_epoch"]]["val_balanced_accuracy"],
            epochs_run=t["epochs_run"],
            best_epoch=t["best_epoch"],
            converged=t["converged"],
            seconds=round(out["seconds"], 1),
            val_history=[round(h["val_balanced_accuracy"], 4) for h in t["history"]],
        )
    if set(ARMS) <= set(arms):
        row["difference"] = row["image"]["val_balanced_accuracy"] - row["image-s2d"]["val_balanced_accuracy"]
    return row


def ablate_image_augmentation(kind: str) -> None:
    """Give the pixel arms `kind` augmentation instead of flip + rotation (an ablation only: `arms.train_arm` picks
    augmentation by the arm's input, which a recipe override cannot change, so the script swaps it here)."""
    from latentgap.classifiers import train

    augment = train._augment
    train._augment = lambda x, cfg, gen: augment(x, replace(cfg, augment=kind) if cfg.augment == "image" else cfg, gen)


def parse_set(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value  # a bare word: optimizer=adamw
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, help="phantom-chest, phantom-ct, pneumoniamnist, ...")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--data-root", default=None, help="folder holding real sets (e.g. ../shared/data)")
    ap.add_argument("--cache", default="/tmp/latentgap-tune-cache", help="embedded benchmarks are cached here")
    ap.add_argument("--out", default=None, help="write the JSON here as well")
    ap.add_argument(
        "--arms",
        default=",".join(ARMS),
        help="train only these (a change of layer_scale alone leaves `image` as it was)",
    )
    ap.add_argument(
        "--image-augment",
        choices=("image", "latent", "none"),
        default="image",
        help="ablation: the image arm's augmentation (flip + rotation as frozen; latent: the latent arms' 20 %% "
        "masking; none)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.image_augment != "image":
        ablate_image_augmentation(args.image_augment)
    overrides = parse_set(args.set)
    arms = tuple(args.arms.split(","))
    assert set(arms) <= set(ARMS), arms
    profile = candidate(overrides)
    result = dict(
        dataset=args.dataset,
        overrides=overrides,
        image_augment=args.image_augment,
        train=asdict(profile.train),
        latent_model=profile.latent_model,
        date=time.strftime("%Y-%m-%d"),
        seeds=[],
    )
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.perf_counter()
        row = measure(args.dataset, seed, profile, args.data_root, Path(args.cache), arms)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        result["seeds"].append(row)
        scores = ", ".join(
            f"{a} {row[a]['val_balanced_accuracy']:.3f} (best epoch {row[a]['best_epoch']} of {row[a]['epochs_run']})"
            for a in arms
        )
        diff = f", difference {row['difference']:+.3f}" if "difference" in row else ""
        print(f"{args.dataset} seed {seed}: val bacc {scores}{diff}  [{row['seconds']} s]", flush=True)
    result["mean"] = {a: float(np.mean([r[a]["val_balanced_accuracy"] for r in result["seeds"]])) for a in arms}
    summary = ", ".join(f"{a} {v:.3f}" for a, v in result["mean"].items())
    if set(ARMS) <= set(arms):
        result["mean_difference"] = float(np.mean([r["difference"] for r in result["seeds"]]))
        summary += f", difference {result['mean_difference']:+.3f}"
    print(f"{args.dataset} mean over {len(result['seeds'])} seeds: {summary}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
