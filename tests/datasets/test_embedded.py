"""The embedded real default benchmark (REAL Kermany chest X-rays shipped as package data), read as a user reads it."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from latentgap.datasets import embedded, registry
from latentgap.datasets.formats.chest_xray import PATIENT
from latentgap.datasets.splits import paper_split

BENCH = embedded.CHEST_XRAY
FOLDER = embedded.folder(BENCH)
CARD = embedded.card(BENCH)
DATA = Path(os.environ.get("LATENTGAP_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
UPSTREAM = DATA / "chest-xray-pneumonia" / "chest_xray"
EXPECTED = {"NORMAL": 162, "PNEUMONIA": 436}  # the shipped copy (card.json and its README say the same)


@pytest.fixture(scope="module")
def data():
    return registry.load(BENCH.name, 64)


def test_it_is_the_default_real_and_registered():
    assert registry.DEFAULT_DATASET == BENCH.name and registry.BENCHMARKS[BENCH.name] is BENCH
    assert not BENCH.synthetic and "REAL" in BENCH.modality and CARD["synthetic"] is False
    assert [n for n, b in registry.BENCHMARKS.items() if not b.synthetic] == [BENCH.name]  # the phantoms stay synthetic


def test_it_reads_with_the_expected_class_counts(data):
    assert data.name == BENCH.name and not data.synthetic and data.class_names == ["NORMAL", "PNEUMONIA"]
    assert data.images.shape == (BENCH.default_size, 1, 64, 64) and data.images.dtype == np.float32
    assert 0 <= data.images.min() and data.images.max() <= 1 and data.images.std() > 0.1
    assert dict(zip(data.class_names, np.bincount(data.labels).tolist())) == EXPECTED == CARD["counts"]["by_class"]
    assert len(data.labels) == CARD["counts"]["images"] == BENCH.default_size
    assert data.card["format"] == "chest-xray" and data.card["licence"] == "CC BY 4.0" and data.card["embedded"]
    assert str(BENCH.default_size) in BENCH.description and str(CARD["counts"]["patients"]) in BENCH.description


def test_no_patient_group_crosses_splits(data):
    """Patients whose id is in both upstream train/ and test/ stay one group, so the official split is not used (as
    upstream); every fold of the paper's grouped split keeps each patient on one side."""
    crossing = CARD["counts"]["patients_in_train_and_test"]
    assert crossing > 0 and data.card["groups_crossing_split"] == crossing and data.split is None
    assert data.card["split_on_disk"]["test"] == sum(CARD["counts"]["by_split"]["test"].values())
    patients = [PATIENT.match(p.name) for p in FOLDER.rglob("*.png")]
    assert all(patients) and len({m[1] or m[2] for m in patients}) == CARD["counts"]["patients"]
    for fold in range(5):
        parts = [set(data.groups[i]) for i in paper_split(data.labels, data.groups, fold)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2]), fold


def test_files_fit_the_budget_and_match_the_card():
    files = [f for f in FOLDER.rglob("*") if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    assert total <= 20_000_000, f"{total / 1e6:.1f} MB"
    pngs = sorted(FOLDER.glob("chest_xray/*/*/*.png"))
    assert len(pngs) == BENCH.default_size and sum(f.stat().st_size for f in pngs) == CARD["bytes"]
    assert {f.parent.relative_to(FOLDER).as_posix() for f in pngs} == {
        f"chest_xray/{s}/{c}" for s in ("train", "test") for c in ("NORMAL", "PNEUMONIA")
    }
    from latentgap.tools.embedded_cxr import manifest_sha256

    assert manifest_sha256(FOLDER / "chest_xray") == CARD["manifest_sha256"]  # the pixels the card describes


def test_the_card_says_source_licence_doi_and_real():
    readme = (FOLDER / "README.md").read_text()
    for fact in ("REAL", "not synthetic", "CC BY 4.0", "creativecommons.org/licenses/by/4.0", CARD["doi"], "Kermany"):
        assert fact in readme, fact
    assert CARD["doi"] == "10.17632/rscbjbr9sj.2" and "whole patients" in CARD["reduction"]["rule"]
    assert f"{CARD['counts']['images']:,} images of {CARD['counts']['patients']} patients" in readme


def test_data_list_shows_it_embedded_available_and_real():
    listed = registry.describe(BENCH.name)
    assert listed["synthetic"] is False and listed["embedded"] and listed["class_counts"] == EXPECTED
    assert listed["groups"] == CARD["counts"]["patients"] and Path(listed["path"]) == FOLDER
    json.dumps(listed)


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"upstream Kermany copy absent at {UPSTREAM} (set LATENTGAP_DATA)")
def test_whole_patients_with_their_upstream_names_and_labels():
    """Every shipped patient has all of its upstream images, under the same split, class folder and name."""

    def by_patient(root: Path, suffix: str) -> dict:
        out = {}
        for f in root.glob(f"*/*/*{suffix}"):
            m = PATIENT.match(f.name)
            out.setdefault(m[1] or m[2], set()).add(f.relative_to(root).with_suffix("").as_posix())
        return out

    shipped, upstream = by_patient(FOLDER / "chest_xray", ".png"), by_patient(UPSTREAM, ".jpeg")
    assert all(shipped[p] == upstream[p] for p in shipped)
    assert sum(len(v) for v in upstream.values()) == CARD["upstream_counts"]["images"] == 5840


def test_the_builder_keeps_whole_patients_stratified_and_is_deterministic(tmp_path):
    """The build tool on a small upstream-shaped folder: whole patients, classes in proportion, same bytes twice."""
    from PIL import Image

    from latentgap.tools.embedded_cxr import build

    src = tmp_path / "up" / "chest_xray"
    rng = np.random.default_rng(0)
    for split, first, n_patients in (("train", 0, 60), ("test", 100, 20)):
        for p in range(first, first + n_patients):
            cls = "NORMAL" if p % 4 == 0 else "PNEUMONIA"  # 1 NORMAL patient to 3 PNEUMONIA
            for k in range(1 + p % 3):
                name = (
                    f"IM-{p:04d}-{k:04d}.jpeg"
                    if cls == "NORMAL"
                    else f"person{p}_{['bacteria', 'virus'][p % 2]}_{k}.jpeg"
                )
                (src / split / cls).mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(src / split / cls / name)
    card = build(tmp_path / "up", tmp_path / "a", n_images=60, size=32)
    again = build(tmp_path / "up", tmp_path / "b", n_images=60, size=32)
    assert card["manifest_sha256"] == again["manifest_sha256"] and 50 <= card["counts"]["images"] <= 60
    up, kept = card["upstream_counts"], card["counts"]
    share = kept["by_class"]["NORMAL"] / kept["images"]
    assert abs(share - up["by_class"]["NORMAL"] / up["images"]) < 0.05
    pngs = list((tmp_path / "a" / "chest_xray").rglob("*.png"))
    assert len(pngs) == kept["images"] and Image.open(pngs[0]).mode == "L" and Image.open(pngs[0]).size == (32, 32)
    patients = {}
    for f in src.rglob("*.jpeg"):
        m = PATIENT.match(f.name)
        patients.setdefault(m[1] or m[2], set()).add(f.stem)
    kept_names = {f.stem for f in pngs}
    assert all(names <= kept_names or not names & kept_names for names in patients.values())  # whole patients
    assert (tmp_path / "a" / "README.md").read_text().count("REAL") >= 1
