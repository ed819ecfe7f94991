"""`data inspect` as a user runs it (subprocess, --json): on a fabricated folder, and on the three real labelled sets
in shared/data (slow: every image is read and hashed; one inspect per set). Real data: $LATENTGAP_DATA, else
../shared/data beside the repository; those tests skip, saying so, where it is absent."""

import json
import os
from pathlib import Path

import pytest

from latentgap.cli import main
from tests.datasets.test_formats import tree
from tests.test_cli import cli

DATA = Path(os.environ.get("LATENTGAP_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"))
ENV = {"OMP_NUM_THREADS": "1"}


def inspect(path, *args) -> dict:
    out = cli("data", "inspect", str(path), *args, "--json", env=ENV)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def real(name: str) -> Path:
    if not (DATA / name).is_dir():
        pytest.skip(f"real data {DATA / name} absent (set LATENTGAP_DATA to the folder holding {name}/)")
    return DATA / name


def test_inspect_cli(tmp_path, capsys):
    # e.png copies a.png into the other class and the test split
    tree(
        tmp_path / "set",
        {"train/A/a.png": 10, "train/A/b.png": 20, "train/B/c.png": 30, "test/A/d.png": 40, "test/B/e.png": 10},
    )
    info = inspect(tmp_path / "set")
    assert info["format"] == "image-folder" and info["images"] == 5 and info["classes"] == {"A": 3, "B": 2}
    assert info["groups"] == 4 and info["duplicate_images"] == 1 and info["duplicate_label_conflicts"] == 1
    assert info["split_on_disk"] == {"train": 3, "val": 0, "test": 2} and info["official_split"] is None
    assert info["synthetic"] is False and len(info["warnings"]) == 3 and info["seconds"] >= 0
    assert list(info)[:8] == [
        "path",
        "format",
        "images",
        "classes",
        "groups",
        "duplicate_images",
        "duplicate_groups_merged",
        "duplicate_label_conflicts",
    ]
    assert main(["data", "inspect", str(tmp_path / "set")]) == 0  # the text summary, in process
    text = capsys.readouterr().out
    assert "image-folder, 5 images in 4 groups, 1 duplicate images" in text and "  classes: A 3, B 2" in text
    assert "split on disk, not used (see warnings): train 3, test 2" in text and text.count("  warning: ") == 3
    assert main(["data", "inspect", str(tmp_path / "set"), "--labels", "normal-pneumonia"]) == 2
    assert capsys.readouterr().err.startswith("error: labels='normal-pneumonia' does not apply to image-folder")


@pytest.mark.slow
def test_inspect_chest_xray():
    """README counts; 170 patient ids in train and test, so the split diagnosis uses is grouped CV, never crossed."""
    info = inspect(real("chest-xray-pneumonia"), "--labels", "normal-bacteria-virus")
    assert info["format"] == "chest-xray" and info["images"] == 5840
    assert info["classes"] == {"NORMAL": 1575, "bacteria": 2772, "virus": 1493}  # PNEUMONIA 4,265 = 2,772 + 1,493
    assert info["split_on_disk"] == {"train": 5216, "val": 0, "test": 624} and info["groups_crossing_split"] == 170
    assert info["official_split"] is None  # groups never cross the split diagnosis uses: it drops the crossed one
    assert info["groups"] == 3102 and info["duplicate_images"] == 32 and info["duplicate_groups_merged"] == 1
    assert info["duplicate_label_conflicts"] == 0 and len(info["warnings"]) == 2


@pytest.mark.slow
def test_inspect_ham10000():
    info = inspect(real("ham10000"))
    assert info["format"] == "ham10000" and info["images"] == 5984 and info["groups"] == 5984  # one image per lesion
    assert info["classes"] == {"akiec": 183, "bcc": 264, "bkl": 583, "df": 60, "mel": 491, "nv": 4323, "vasc": 80}
    assert info["duplicate_images"] == 0 and info["official_split"] is None and info["warnings"] == []


@pytest.mark.slow
def test_inspect_covid_ct():
    info = inspect(real("covid-ct"))
    assert info["format"] == "sars-cov2-ct" and info["images"] == 2481
    assert info["classes"] == {"COVID": 1252, "non-COVID": 1229}
    assert info["duplicate_images"] == 2 and info["groups"] == 2479  # Covid (128)/(129) and (134)/(135) are copies
    assert info["warnings"][0].startswith("no patient ids: cross-validation is by image")


def test_inspect_by_name(tmp_path):
    """A dataset's name works where a path does: the shipped real default, and a real set under $LATENTGAP_DATA."""
    info = inspect("chest-xray-pneumonia")
    assert info["format"] == "chest-xray" and info["images"] == 598 and info["groups"] == 302
    tree(tmp_path / "root/covid-ct", {"COVID/a.png": 10, "COVID/b.png": 20, "non-COVID/c.png": 30})
    out = cli("data", "inspect", "covid-ct", "--json", env={**ENV, "LATENTGAP_DATA": str(tmp_path / "root")})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["classes"] == {"COVID": 2, "non-COVID": 1}
    missing = cli("data", "inspect", "ham10000", env={**ENV, "LATENTGAP_DATA": str(tmp_path / "root")})
    assert missing.returncode == 2 and "ham10000 is not under" in missing.stderr and "doi:" in missing.stderr
