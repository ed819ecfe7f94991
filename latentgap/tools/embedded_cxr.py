"""Builds the embedded `chest-xray-pneumonia` benchmark: a compact copy of the Kermany paediatric chest X-rays.

From the upstream layout (`chest_xray/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg`, as `datasets/formats/chest_xray.py`
reads it) it keeps whole patients, drawn deterministically and stratified by class and by the upstream splits each
patient appears in, until `n_images` images; each kept image becomes an 8-bit grayscale PNG of `size` x `size` px
under its original name (the patient id and bacteria/virus stay in the name) in the same layout. It then writes the
card (`card.json` + `README.md`: source, licence notice, DOI, reduction, counts; real data, not synthetic) beside it.

    python -m latentgap.tools.embedded_cxr /work/shared/data/chest-xray-pneumonia [--images 600] [--size 128]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.errors import LatentgapError

N_IMAGES = 600  # the quick profile's diagnosis of TAEF2 on them stays under 5 min on a 2-core CPU (README)
SIZE = 128  # px, square as upstream's copy (224 x 224, aspect not kept); the quick profile reads 64 px
SEED = 0
SOURCE = dict(
    upstream="Kermany D.S., Goldbaum M., et al., 'Identifying Medical Diagnoses and Treatable Diseases by "
    "Image-Based Deep Learning', Cell 172(5):1122-1131, 2018, doi:10.1016/j.cell.2018.02.010; data: 'Labeled "
    "Optical Coherence Tomography (OCT) and Chest X-Ray Images for Classification', Mendeley Data, "
    "doi:10.17632/rscbjbr9sj.2 (ChestXRay2017.zip); Kaggle paultimothymooney/chest-xray-pneumonia",
    doi="10.17632/rscbjbr9sj.2",
    licence="CC BY 4.0",
    licence_url="https://creativecommons.org/licenses/by/4.0/",
    copied_from="GitHub waliatushar/ai-pneumonia-detection@362d6d1be840461d0f26253972ec86bbc8533772 (dataset/): "
    "224 x 224 RGB JPEGs resized by that repository from the grayscale originals, names and split unchanged",
)


def index_upstream(source: Path) -> pd.DataFrame:
    """One row per upstream image: source (Path), label (0 NORMAL, 1 PNEUMONIA), group (patient id), split."""
    from latentgap.datasets.formats import get_format
    from latentgap.datasets.formats._common import Options

    return get_format("chest-xray").index(Path(source), None, Options()).rows


def kinds(rows: pd.DataFrame) -> np.ndarray:
    """(N,) "NORMAL", "bacteria" or "virus" per row: the folder, then the upstream file name."""
    pneumonia = rows.source.map(lambda p: "virus" if "_virus_" in p.name else "bacteria")
    return np.where(rows.label == 0, "NORMAL", pneumonia)


def select_patients(rows: pd.DataFrame, n_images: int, seed: int = SEED) -> pd.DataFrame:
    """The rows of whole patients, about `n_images` images, stratified by class, kind and upstream splits.

    A patient's stratum is its class, the kinds in its file names (bacteria, virus, both) and the upstream splits it
    appears in (e.g. PNEUMONIA, bacteria+virus, test+train); each stratum gets its share of `n_images` by its share of
    the images, and its patients are taken in a seeded permutation of their sorted ids while they fit the share.
    """
    per_patient = rows.assign(kind=kinds(rows)).groupby("group")
    per_patient = per_patient.agg(
        label=("label", "first"),
        n_labels=("label", "nunique"),
        kinds=("kind", lambda s: "+".join(sorted(set(s)))),
        splits=("split", lambda s: "+".join(sorted(set(s)))),
        images=("count", "sum"),
    )
    assert (per_patient.n_labels == 1).all(), "a patient with two classes"
    rng, keep = np.random.default_rng(seed), []
    for _, stratum in per_patient.groupby(["label", "kinds", "splits"], sort=True):
        quota = round(n_images * stratum.images.sum() / per_patient.images.sum())
        total = 0
        for i in rng.permutation(len(stratum)):
            if total + stratum.images.iloc[i] <= quota:
                keep.append(stratum.index[i])
                total += stratum.images.iloc[i]
    return rows[rows.group.isin(keep)].reset_index(drop=True)


def write_png(source: Path, target: Path, size: int) -> None:
    """Upstream image -> 8-bit grayscale PNG, `size` x `size` px (Lanczos), written without metadata."""
    from PIL import Image

    with Image.open(source) as im:
        small = im.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    small.save(target, "PNG", optimize=True)


def counts(rows: pd.DataFrame) -> dict:
    """Images per split x class (and bacteria / virus), patients, and patients in both splits."""
    table = pd.crosstab(rows.split, kinds(rows))
    splits = rows.groupby("group").split.nunique()
    return dict(
        images=len(rows),
        by_split={s: {k: int(v) for k, v in table.loc[s].items()} for s in table.index},
        by_class=dict(NORMAL=int((rows.label == 0).sum()), PNEUMONIA=int((rows.label == 1).sum())),
        patients=int(rows.group.nunique()),
        patients_in_train_and_test=int((splits > 1).sum()),
    )


def manifest_sha256(folder: Path) -> str:
    """sha256 over `sha256sum` lines of every file under `folder`, sorted by path (as shared/data's README)."""
    lines = [
        f"{hashlib.sha256(f.read_bytes()).hexdigest()}  ./{f.relative_to(folder).as_posix()}\n"
        for f in sorted(p for p in folder.rglob("*") if p.is_file())
    ]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def build(source: Path, target: Path, n_images: int = N_IMAGES, size: int = SIZE, seed: int = SEED) -> dict:
    """Write the compact copy under `target`/chest_xray and its card; returns the card."""
    source, target = Path(source), Path(target)
    rows = index_upstream(source)
    if n_images > len(rows):
        raise LatentgapError(f"--images {n_images}: {source} holds only {len(rows)} images")
    kept = select_patients(rows, n_images, seed)
    out = target / "chest_xray"
    shutil.rmtree(out, ignore_errors=True)
    for path in kept.source:  # .../{train,test}/{NORMAL,PNEUMONIA}/NAME.jpeg -> out/SPLIT/CLASS/NAME.png
        write_png(path, (out / path.relative_to(path.parents[2])).with_suffix(".png"), size)
    files = sorted(out.rglob("*.png"))
    card = dict(
        name="chest-xray-pneumonia",
        synthetic=False,
        real_data="real paediatric chest X-rays of real patients (not synthetic), reduced in size",
        **SOURCE,
        reduction=dict(
            rule="whole patients (the id in the file name, grouped as datasets/formats/chest_xray.py groups them), "
            "stratified by class, by bacteria/virus and by the upstream splits a patient appears in; each stratum "
            f"gets its share of the images, filled in a seeded (numpy default_rng({seed})) permutation of its "
            "sorted patient ids",
            images_requested=n_images,
            why="so that the default diagnosis (quick profile, zoo:taef2) stays under 5 minutes on a 2-core CPU; "
            f"the full set ({len(rows):,} images) is read from its upstream layout as chest-xray-pneumonia-full",
            pixels=f"8-bit grayscale PNG, {size} x {size} px (Pillow: convert('L'), resize LANCZOS, optimize=True)",
            names="original file names and folders; only the suffix changes (.jpeg -> .png)",
        ),
        upstream_counts=counts(rows),
        counts=counts(kept),
        bytes=sum(f.stat().st_size for f in files),
        manifest_sha256=manifest_sha256(out),
    )
    (target / "card.json").write_text(json.dumps(card, indent=1) + "\n")
    (target / "README.md").write_text(readme(card))
    return card


def readme(card: dict) -> str:
    c, up, r = card["counts"], card["upstream_counts"], card["reduction"]
    table = "\n".join(
        f"| {s} | {v.get('NORMAL', 0)} | {v.get('bacteria', 0)} | {v.get('virus', 0)} | {sum(v.values())} |"
        for s, v in sorted(c["by_split"].items(), reverse=True)
    )
    return f"""# chest-xray-pneumonia (embedded): REAL chest X-rays, not synthetic

Real paediatric chest X-rays (anterior-posterior) of real patients, labelled NORMAL or PNEUMONIA (bacterial or
viral, from the file name): a compact copy of the Kermany set, shipped with latentgap as its default benchmark.
Built by `python -m latentgap.tools.embedded_cxr SOURCE` (`latentgap/tools/embedded_cxr.py`); `card.json` holds
the same facts as data.

**Source.** {card["upstream"]}. This copy was made from {card["copied_from"]}.

**Licence.** {card["licence"]}, {card["licence_url"]}. The images are by Daniel S. Kermany, Kang Zhang and Michael
Goldbaum (Mendeley Data, doi:{card["doi"]}); cite the paper and the data DOI when you use them. Changes made
here: patients subsampled; images converted to grayscale and resized, now {r["pixels"]}.

**How it was reduced.** {r["images_requested"]} images requested, {r["why"]}. Kept: {r["rule"]}.
Names: {r["names"]}.

**Counts.** {c["images"]:,} images of {c["patients"]} patients (upstream {up["images"]:,} of {up["patients"]:,});
NORMAL {c["by_class"]["NORMAL"]}, PNEUMONIA {c["by_class"]["PNEUMONIA"]}.

| split | NORMAL | bacteria | virus | all |
|---|---|---|---|---|
{table}

{c["patients_in_train_and_test"]} patient ids occur in both train/ and test/ (upstream
{up["patients_in_train_and_test"]}; it does not say whether ids are unique across splits): the reader keeps each
such patient in one group and does not use the official split, so diagnosis cross-validates by patient (the
paper's 5-fold grouped split).

{card["bytes"]:,} bytes of PNG; sha256 of the sorted manifest of `chest_xray/`
(`find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum`): `{card["manifest_sha256"]}`.
"""


def main(argv: list[str] | None = None) -> int:
    from latentgap.resources import data_dir

    p = argparse.ArgumentParser(prog="python -m latentgap.tools.embedded_cxr", description=__doc__.splitlines()[0])
    p.add_argument("source", help="the upstream folder (chest_xray/{train,test}/{NORMAL,PNEUMONIA}/ inside)")
    p.add_argument("--target", default=str(data_dir() / "chest-xray-pneumonia"), help="default: the package data")
    p.add_argument("--images", type=int, default=N_IMAGES, help=f"images to keep, whole patients (default {N_IMAGES})")
    p.add_argument("--size", type=int, default=SIZE, help=f"px (default {SIZE})")
    args = p.parse_args(argv)
    card = build(Path(args.source), Path(args.target), args.images, args.size)
    print(json.dumps(dict(counts=card["counts"], bytes=card["bytes"]), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
