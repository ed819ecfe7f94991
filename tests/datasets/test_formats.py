"""formats/ on tiny fabricated datasets in every layout: labels, groups, splits, detection and every bad input."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from latentgap.datasets.formats import FORMATS, detect_format, load_path
from latentgap.errors import LatentgapError
from tests.datasets.test_readers import write_avi, write_dicom, write_nifti, write_png


def gray(value: int, size=(8, 8)) -> np.ndarray:
    return np.full(size, value, np.uint8)


def csv(path, rows: list[dict]):
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def snapshot(root) -> dict:
    return {p: os.stat(p).st_mtime_ns for p in sorted(root.rglob("*"))}


def checked(d):
    """The Dataset contract every loader must keep, whatever the format."""
    assert d.images.ndim == 4 and d.images.dtype == np.float32 and 0 <= d.images.min() and d.images.max() <= 1
    assert d.labels.dtype == np.int64 and set(d.labels.tolist()) == set(range(len(d.class_names)))
    assert d.groups.dtype.kind == "U"  # fixed-width strings: the fingerprint hashes their bytes
    assert d.split is None or set(d.split.tolist()) <= {"train", "val", "test"}
    assert not d.synthetic and d.card["n_images"] == len(d.labels)
    json.dumps(d.card)  # saved with every result
    return d


# --- paper-manifest ---


@pytest.fixture
def paper(tmp_path):
    rows = []
    for i, (cls, pid, split) in enumerate(
        [("A", 1, "train"), ("A", 1, "train"), ("B", 2, "val"), ("B", 3, "test"), ("C", 4, "test"), ("C", 5, "train")]
    ):
        write_png(tmp_path / f"im{i}.png", gray(40 * i))
        rows.append(dict(path=f"im{i}.png", Split=split, id=pid, **{c: int(c == cls) for c in "ABC"}))
    return csv(tmp_path / "paper.csv", rows)


def test_paper_manifest(paper):
    before = snapshot(paper.parent)
    d = checked(load_path(paper, resolution=16))
    assert snapshot(paper.parent) == before  # loading writes nothing anywhere near the data
    assert detect_format(paper) == "paper-manifest" and d.card["format"] == "paper-manifest"
    assert d.images.shape == (6, 1, 16, 16) and d.images.dtype == np.float32
    np.testing.assert_allclose(d.images[:, 0, 0, 0], np.arange(6) * 40 / 255, atol=1e-6)
    assert d.class_names == ["A", "B", "C"] and d.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert d.groups.tolist() == ["1", "1", "2", "3", "4", "5"]
    assert d.split.tolist() == ["train", "train", "val", "test", "test", "train"]
    assert not d.synthetic and d.card["class_counts"] == {"A": 2, "B": 2, "C": 2}


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda df: df.assign(B=df.A + df.B),
            r"2 rows of paper.csv with several positive class columns: im0.png, im1.png",
        ),
        (lambda df: df.assign(A=0), r"2 rows of paper.csv with no positive class column: im0.png, im1.png"),
        (lambda df: df.assign(A=df.A * 2), r"class columns of paper.csv with values other than 0/1: A"),
        (
            lambda df: df.assign(Split=["train"] * 5 + ["val"]).assign(id=[1, 1, 2, 3, 4, 1]),
            r"1 groups in two official splits: 1 \(train/val\)",
        ),
        (
            lambda df: df.assign(path=["../out.png", "/etc/passwd"] + list(df.path[2:])),
            r"2 paths in paper.csv escaping the data root .*: \.\./out\.png, /etc/passwd",
        ),
        (lambda df: df.assign(Split="holdout"), r"unknown Split values in paper.csv: holdout"),
        (lambda df: df.assign(B=0, C=0, A=1), r"only one class \('A'\)"),
    ],
)
def test_paper_manifest_bad(paper, edit, match):
    edit(pd.read_csv(paper)).to_csv(paper, index=False)
    with pytest.raises(LatentgapError, match=match):
        load_path(paper, format="paper-manifest", resolution=8)


def test_paper_manifest_missing_id_and_unreadable(paper):
    pd.read_csv(paper).drop(columns="id").to_csv(paper, index=False)
    with pytest.raises(LatentgapError, match=r"paper.csv lacks column\(s\) id"):
        load_path(paper, format="paper-manifest")
    df = pd.read_csv(paper).assign(id=range(6), path=["im0.png", "nope.png", "im2.png", "x.png", "y.png", "im5.png"])
    df.to_csv(paper, index=False)
    (paper.parent / "x.png").write_bytes(b"corrupt")
    (paper.parent / "y.png").write_bytes((paper.parent / "im4.png").read_bytes()[:30])
    with pytest.raises(LatentgapError, match=r"3 unreadable files: nope.png, x.png, y.png; fix or remove them"):
        load_path(paper, resolution=8)


@pytest.mark.parametrize(
    "save",
    [lambda df, p: df.to_csv(p), lambda df, p: df.reset_index().to_csv(p, index=False)],
    ids=["empty-header", "index-column"],
)
def test_paper_manifest_row_index_column(paper, save):
    save(pd.read_csv(paper), paper)  # a saved pandas row index (0..5) as the first column
    for fmt in (None, "paper-manifest"):  # detected, and named
        assert detect_format(paper) == "paper-manifest"
        d = checked(load_path(paper, format=fmt, resolution=8))
        assert d.class_names == ["A", "B", "C"] and d.labels.tolist() == [0, 0, 1, 1, 2, 2]
        assert d.card["ignored_columns"] == [next(iter(pd.read_csv(paper).columns))]


# --- manifest ---


@pytest.fixture
def manifest(tmp_path):
    (tmp_path / "img").mkdir()
    write_png(tmp_path / "img/a.png", gray(0, (8, 12)))
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(tmp_path / "img/b.jpg", quality=95)
    write_dicom(tmp_path / "img/c.dcm", np.array([[0, 300], [600, 900]], np.uint16), slope=1, intercept=-1000)
    write_nifti(tmp_path / "img/d.nii.gz", np.full((6, 6, 3), -300.0, np.float32))
    write_png(tmp_path / "img/e.png", gray(255))
    rows = [
        dict(path="img/a.png", label="cat", split="train", patient_id="p1"),
        dict(path="img/b.jpg", label="dog", split="train", patient_id="p1"),
        dict(path="img/c.dcm", label="dog", split="test", patient_id="p2"),
        dict(path="img/d.nii.gz", label="cat", split="val", patient_id="p3"),
        dict(path="img/e.png", label="dog", split="val", patient_id="p3"),
    ]
    return csv(tmp_path / "list.csv", rows)


def test_manifest_mixed_files(manifest):
    assert detect_format(manifest) == "manifest"
    d = checked(load_path(manifest, resolution=8, window="lung"))
    assert d.images.shape == (5, 3, 8, 8)  # one JPEG is colour: grayscale replicated to 3 channels
    assert "4 grayscale images replicated" in d.card["channels"]
    assert d.class_names == ["cat", "dog"] and d.labels.tolist() == [0, 1, 1, 0, 1]
    assert d.groups.tolist() == ["p1", "p1", "p2", "p3", "p3"] and d.split.tolist()[2:] == ["test", "val", "val"]
    assert d.images[3].mean() == pytest.approx(0.5)  # NIfTI: -300 HU in the lung window
    np.testing.assert_allclose(d.images[2, 0, 0, 0], 0.0)  # DICOM -1000 HU
    assert d.card["mixed_sizes"] and d.card["source_sizes"]["8x12"] == 1
    assert d.card["file_types"] == {"png": 2, "jpeg": 1, "dicom": 1, "nifti": 1} and "middle axial" in d.card["nifti"]


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda df: df.rename(columns={"label": "class"}), r"list.csv lacks column\(s\) label .*expected path,label"),
        (lambda df: df.assign(label=["cat", None, "dog", "cat", "dog"]), r"1 rows of list.csv without a label: row 3"),
        (lambda df: df.assign(label="cat"), r"only one class \('cat'\) in .*list.csv"),
        (lambda df: df.assign(path=["img/a.png"] * 4 + ["../../x.png"]), r"escaping the data root .*: \.\./\.\./x.png"),
    ],
)
def test_manifest_bad(manifest, edit, match):
    edit(pd.read_csv(manifest)).to_csv(manifest, index=False)
    with pytest.raises(LatentgapError, match=match):
        load_path(manifest, format="manifest", resolution=8)


def test_manifest_data_root_and_absolute_paths(manifest, tmp_path):
    moved = tmp_path / "lists"
    moved.mkdir()
    df = pd.read_csv(manifest).drop(columns=["split", "patient_id"])
    df.assign(path=[str(tmp_path / p) for p in df.path]).to_csv(moved / "abs.csv", index=False)
    d = checked(load_path(moved / "abs.csv", data_root=tmp_path, resolution=8))
    assert len(d.labels) == 5 and d.split is None and d.groups.tolist()[0].endswith("img/a.png")
    with pytest.raises(LatentgapError, match="5 paths in abs.csv escaping the data root"):
        load_path(moved / "abs.csv", resolution=8)  # default root: the CSV's own folder


# --- image-folder ---


def test_image_folder(tmp_path):
    for cls, n in (("benign", 2), ("malignant", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            write_png(tmp_path / cls / f"{i}.png", gray(10 * i + 100 * (cls == "malignant")))  # no two alike
    (tmp_path / "malignant/patient7").mkdir()
    write_png(tmp_path / "malignant/patient7/x.png", gray(1))
    write_dicom(tmp_path / "malignant/patient7/y.dcm", np.zeros((4, 4), np.uint16))
    (tmp_path / "malignant/notes.txt").write_text("skip me")
    write_png(tmp_path / "benign/.hidden.png", gray(3))
    (tmp_path / "empty").mkdir()
    assert detect_format(tmp_path) == "image-folder"
    d = checked(load_path(tmp_path, resolution=8))
    assert d.class_names == ["benign", "malignant"] and d.labels.tolist() == [0, 0, 1, 1, 1, 1, 1]
    assert d.groups.tolist() == [
        "benign/0.png",
        "benign/1.png",
        "malignant/0.png",
        "malignant/1.png",
        "malignant/2.png",
        "patient7",
        "patient7",
    ]
    assert d.card["skipped_files"] == 1 and d.card["empty_class_folders"] == ["empty"] and d.split is None
    with pytest.raises(LatentgapError, match="a data root applies to CSV formats only"):
        load_path(tmp_path, data_root=tmp_path)


def tree(root, files: dict[str, int]):
    """PNG files at the given relative paths, each uniformly gray at its value (0..255)."""
    for rel, value in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_png(root / rel, gray(value))
    return root


def test_image_folder_split_folders_in_a_wrapper(tmp_path):
    tree(
        tmp_path / "archive/data",
        {
            "training/cat/p1/a.png": 10,
            "training/cat/p1/b.png": 20,
            "training/cat/c.png": 30,
            "training/dog/d.png": 40,
            "testing/cat/e.png": 50,
            "testing/dog/p2/f.png": 60,
            "Validation/cat/g.png": 70,
            "Validation/dog/h.png": 80,
        },
    )
    assert detect_format(tmp_path / "archive") == "image-folder"
    d = checked(load_path(tmp_path / "archive", resolution=8))
    assert d.class_names == ["cat", "dog"] and d.labels.tolist() == [0, 1, 0, 1, 0, 0, 0, 1]  # folders sorted
    assert d.split.tolist() == ["val", "val", "test", "test", "train", "train", "train", "train"]
    assert d.groups.tolist() == [
        "Validation/cat/g.png",
        "Validation/dog/h.png",
        "testing/cat/e.png",
        "p2",
        "training/cat/c.png",
        "p1",
        "p1",
        "training/dog/d.png",
    ]
    assert d.card["official_split"] == {"train": 4, "val": 2, "test": 2} and d.card["warnings"] == []
    assert d.card["layout"] == "split folders Validation, testing, training above the class folders"
    assert d.card["wrapper"] == "read data/ inside archive/"


def test_image_folder_split_folders_missing_class_and_crossing_patient(tmp_path):
    tree(tmp_path, {"train/cat/p1/a.png": 10, "train/dog/b.png": 20, "test/cat/p1/c.png": 30, "test/cat/d.png": 40})
    d = checked(load_path(tmp_path, resolution=8))
    assert d.split is None and d.card["split_on_disk"] == {"train": 2, "val": 0, "test": 2}
    assert d.card["warnings"][0] == "split folder test has no dog images"
    assert d.card["warnings"][1].startswith("1 groups hold images in two official splits (p1): the official split is")


def test_image_folder_duplicates_across_classes_and_splits(tmp_path):
    """The leakage guard on a folder: x copied into another class, z copied into the test split."""
    tree(
        tmp_path,
        {
            "train/A/x.png": 10,
            "train/B/x-copy.png": 10,
            "train/A/z.png": 20,
            "train/B/w.png": 30,
            "test/A/z-copy.png": 20,
            "test/B/v.png": 40,
            "test/A/u.png": 50,
        },
    )
    d = checked(load_path(tmp_path, resolution=8))
    c = d.card
    assert (c["duplicate_images"], c["duplicate_groups_merged"], c["duplicate_label_conflicts"]) == (2, 2, 1)
    read_order = ["u", "z-copy", "v", "x", "z", "w", "x-copy"]  # test/A, test/B, train/A, train/B; names sorted
    group = dict(zip(read_order, d.groups.tolist()))
    assert group["z"] == group["z-copy"] == "test/A/z-copy.png" and group["x"] == group["x-copy"] == "train/A/x.png"
    assert len(set(group.values())) == 5
    assert d.split is None and c["groups_crossing_split"] == 1 and len(c["warnings"]) == 3


def test_empty_folder_and_unknown_format(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(
        LatentgapError,
        match=r"is an empty folder; put the images in class subfolders",
    ):
        load_path(tmp_path)
    with pytest.raises(LatentgapError, match=r"no images found in .*image-folder expects root/CLASS"):
        load_path(tmp_path, format="image-folder")
    with pytest.raises(LatentgapError, match="unknown format 'dicomdir'; choose one of medmnist"):
        load_path(tmp_path, format="dicomdir")
    with pytest.raises(LatentgapError, match="does not exist"):
        load_path(tmp_path / "missing")
    write_png(tmp_path / "a/x.png", gray(1))
    with pytest.raises(LatentgapError, match=r"x.png is not a folder; the folder formats"):
        load_path(tmp_path / "a/x.png", format="image-folder")


# --- ISIC 2019 ---


@pytest.fixture
def isic(tmp_path):
    classes = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"]
    (tmp_path / "ISIC_2019_Training_Input").mkdir()
    gt, meta = [], []
    for i, cls in enumerate(["MEL", "NV", "NV", "BCC", "UNK", None]):
        name = f"ISIC_{i:07d}"
        Image.fromarray(np.full((12, 16, 3), 30 * i, np.uint8)).save(tmp_path / f"ISIC_2019_Training_Input/{name}.jpg")
        gt.append(dict(image=name, **{c: float(c == cls) for c in classes}))
        meta.append(
            dict(image=name, age_approx=50, anatom_site_general="torso", lesion_id="L1" if i < 2 else None, sex="male")
        )
    csv(tmp_path / "ISIC_2019_Training_Metadata.csv", meta)
    return csv(tmp_path / "ISIC_2019_Training_GroundTruth.csv", gt)


def test_isic2019(isic):
    assert detect_format(isic) == "isic2019" and detect_format(isic.parent) == "isic2019"
    d = checked(load_path(isic.parent, resolution=8))
    assert d.images.shape == (4, 3, 8, 8)
    assert d.class_names == ["MEL", "NV", "BCC"] and d.labels.tolist() == [0, 1, 1, 2]
    assert d.groups.tolist() == ["L1", "L1", "ISIC_0000002", "ISIC_0000003"]
    assert d.card["dropped_unk"] == 1 and d.card["dropped_all_zero"] == 1
    assert d.card["dropped_empty_classes"] == ["AK", "BKL", "DF", "VASC", "SCC"]


def test_isic2019_without_metadata(isic):
    (isic.parent / "ISIC_2019_Training_Metadata.csv").unlink()
    d = checked(load_path(isic, resolution=8))
    assert d.groups.tolist() == ["ISIC_0000000", "ISIC_0000001", "ISIC_0000002", "ISIC_0000003"]
    assert d.card["groups"] == "image id (no metadata CSV)"


def test_isic2019_bad(isic):
    df = pd.read_csv(isic)
    df.drop(columns="MEL").to_csv(isic, index=False)
    with pytest.raises(LatentgapError, match=r"lacks column\(s\) MEL"):
        load_path(isic)
    df.assign(NV=df.MEL.where(df.index != 0, 1.0)).to_csv(isic, index=False)
    with pytest.raises(LatentgapError, match=r"1 rows of .* with several positive class columns: ISIC_0000000"):
        load_path(isic)


# --- MIMIC-CXR-JPG ---


@pytest.fixture
def mimic(tmp_path):
    rows = []
    findings = ["No Finding", "Atelectasis", "Effusion"]
    spec = [
        (10000032, 1, "train", "No Finding"),
        (10000032, 2, "train", "Effusion"),
        (11000001, 3, "validate", "Atelectasis"),
        (12000002, 4, "test", "No Finding"),
        (12000002, 5, "test", "both"),
        (13000003, 6, "train", None),
    ]
    for sid, study, split, finding in spec:
        dicom = f"d{study}"
        folder = tmp_path / f"files/p{str(sid)[:2]}/p{sid}/s{50000000 + study}"
        folder.mkdir(parents=True)
        Image.fromarray(gray(study * 20)).save(folder / f"{dicom}.jpg", quality=95)
        pos = findings[1:] if finding == "both" else [finding]
        rows.append(
            dict(
                dicom_id=dicom,
                subject_id=sid,
                study_id=50000000 + study,
                split=split,
                ViewPosition="PA",
                **{f: int(f in pos) for f in findings},
            )
        )
    return csv(tmp_path / "cxr-lt.csv", rows)


def test_mimic_cxr(mimic):
    assert detect_format(mimic) == "mimic-cxr"
    d = checked(load_path(mimic, resolution=8))
    assert d.images.shape == (4, 1, 8, 8) and d.class_names == ["No Finding", "Atelectasis", "Effusion"]
    assert d.labels.tolist() == [0, 2, 1, 0] and d.groups.tolist() == ["10000032", "10000032", "11000001", "12000002"]
    assert d.split.tolist() == ["train", "train", "val", "test"]
    assert d.card["dropped_several_positive"] == 1 and d.card["dropped_no_positive"] == 1
    assert d.card["ignored_columns"] == ["ViewPosition"]
    assert abs(d.images[1].mean() - 40 / 255) < 0.02


def test_mimic_cxr_bad(mimic):
    df = pd.read_csv(mimic)
    df.assign(Effusion=df.Effusion.replace(0, -1)).to_csv(mimic, index=False)
    with pytest.raises(LatentgapError, match=r"finding columns of cxr-lt.csv with -1 \(uncertain\) values: Effusion"):
        load_path(mimic)
    df.assign(split=["train", "test"] + list(df.split[2:])).to_csv(mimic, index=False)
    with pytest.raises(LatentgapError, match=r"1 groups in two official splits: 10000032 \(test/train\)"):
        load_path(mimic)


# --- CT-RATE ---


@pytest.fixture
def ct_rate(tmp_path):
    rows = []
    for name, hu, pos in [
        ("train_1_a_1", -1000, ["Emphysema"]),
        ("train_1_a_2", -300, ["Emphysema"]),
        ("train_2_a_1", 400, []),
        ("valid_3_b_1", 0, ["Emphysema", "Nodule"]),
    ]:
        split, pid, rec, _ = name.split("_")
        folder = tmp_path / f"{split}/{split}_{pid}/{split}_{pid}_{rec}"
        folder.mkdir(parents=True, exist_ok=True)
        vol = np.full((6, 6, 8), hu, np.int16)
        write_nifti(folder / f"{name}.nii.gz", vol)
        rows.append(dict(VolumeName=f"{name}.nii.gz", Emphysema=int("Emphysema" in pos), Nodule=int("Nodule" in pos)))
    return csv(tmp_path / "labels.csv", rows)


def test_ct_rate_volumes(ct_rate):
    assert detect_format(ct_rate) == "ct-rate"
    before = snapshot(ct_rate.parent)
    d = checked(load_path(ct_rate, resolution=8, slices_per_volume=2))
    assert snapshot(ct_rate.parent) == before
    assert d.images.shape == (6, 1, 8, 8)  # 3 volumes kept x 2 slices
    assert d.class_names == ["Emphysema", "normal"] and d.labels.tolist() == [0, 0, 0, 0, 1, 1]
    assert d.groups.tolist() == ["train_1"] * 4 + ["train_2"] * 2
    np.testing.assert_allclose(d.images.mean((1, 2, 3)), [0, 0, 0.5, 0.5, 1, 1], atol=1e-6)  # lung window
    assert d.card["dropped_several_positive"] == 1 and d.card["window"].startswith("lung: -1000.0..400.0")
    mediastinal = checked(load_path(ct_rate, resolution=8, slices_per_volume=1, window="mediastinal"))
    np.testing.assert_allclose(mediastinal.images.mean((1, 2, 3)), [0, 0, 1], atol=1e-6)


def test_ct_rate_slices_and_bad(ct_rate):
    root = ct_rate.parent
    write_png(root / "s1.png", gray(10))
    write_png(root / "s2.png", gray(20))
    csv(
        root / "slices.csv",
        [
            dict(VolumeName="train_5_a_1", path="s1.png", Nodule=1, Emphysema=0),
            dict(VolumeName="train_6_a_1", path="s2.png", Nodule=0, Emphysema=0),
        ],
    )
    d = checked(load_path(root / "slices.csv", resolution=8))
    assert d.class_names == ["Nodule", "normal"] and d.groups.tolist() == ["train_5", "train_6"]
    pd.read_csv(ct_rate).assign(VolumeName="train_9_a_1.nii.gz").to_csv(ct_rate, index=False)
    with pytest.raises(LatentgapError, match=r"3 unreadable files: train_9_a_1.nii.gz, train_9_a_1.nii.gz"):
        load_path(ct_rate, resolution=8)


# --- Cardium ---


def test_cardium(tmp_path):
    for cls, study, n in (("CHD", "s01", 2), ("CHD", "s02", 1), ("normal", "s03", 2)):
        (tmp_path / cls / study).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(gray(50 * i + 10 * int(study[1:]))).save(tmp_path / cls / study / f"f{i}.jpg")  # distinct
    assert detect_format(tmp_path) == "cardium"
    d = checked(load_path(tmp_path, resolution=8))
    assert d.class_names == ["normal", "CHD"] and d.labels.tolist() == [0, 0, 1, 1, 1]
    assert d.groups.tolist() == ["s03", "s03", "s01", "s01", "s02"]
    write_png(tmp_path / "CHD/loose.png", gray(1))
    with pytest.raises(LatentgapError, match=r"1 frames outside a study folder in .*: loose.png"):
        load_path(tmp_path)
    (tmp_path / "CHD/loose.png").unlink()
    (tmp_path / "other/s9").mkdir(parents=True)
    assert detect_format(tmp_path) == "image-folder"  # three class folders: no longer the Cardium layout
    with pytest.raises(LatentgapError, match=r"1 unknown class folders in .*: other; cardium expects only CHD"):
        load_path(tmp_path, format="cardium")


# --- MedMNIST ---


def test_medmnist_multiclass_rgb(tmp_path):
    rng = np.random.default_rng(0)
    parts = dict(train=5, val=2, test=3)
    arrays = {f"{p}_images": rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8) for p, n in parts.items()}
    arrays |= {f"{p}_labels": (np.arange(n) % 9)[:, None] for p, n in parts.items()}
    np.savez(tmp_path / "pathmnist_28.npz", **arrays)
    assert detect_format(tmp_path / "pathmnist_28.npz") == "medmnist"
    d = checked(load_path(tmp_path / "pathmnist_28.npz", resolution=56))
    assert d.images.shape == (10, 3, 56, 56) and d.name == "pathmnist_28"
    assert d.split.tolist() == ["train"] * 5 + ["val"] * 2 + ["test"] * 3
    assert d.class_names == ["adipose", "background", "debris", "lymphocytes", "mucus"]  # empty classes dropped
    assert d.labels.tolist() == [0, 1, 2, 3, 4, 0, 1, 0, 1, 2] and len(set(d.groups)) == 10
    np.testing.assert_allclose(d.images[0].mean(), arrays["train_images"][0].mean() / 255, atol=2e-3)
    np.savez(tmp_path / "bloodmnist.npz", **(arrays | dict(test_labels=np.array([[0], [8], [9]]))))
    with pytest.raises(LatentgapError, match=r"2 unknown labels in bloodmnist.npz \(8 classes\): test\[1\]=8"):
        load_path(tmp_path / "bloodmnist.npz")


def test_medmnist_chest_multilabel_and_unknown_name(tmp_path):
    labels = np.zeros((6, 14), np.uint8)
    labels[0, 2] = labels[1, 2] = labels[3, 13] = 1  # effusion, effusion, none, hernia
    labels[4, [0, 1]] = 1  # several: dropped
    images = (np.arange(6 * 8 * 8) // 2).astype(np.uint8).reshape(6, 8, 8)  # distinct images (no uint8 wrap-around)
    np.savez(
        tmp_path / "chestmnist_64.npz",
        train_images=images[:4],
        train_labels=labels[:4],
        test_images=images[4:],
        test_labels=labels[4:],
    )
    d = checked(load_path(tmp_path / "chestmnist_64.npz", resolution=8))
    assert d.images.shape == (5, 1, 8, 8)
    assert d.class_names == ["effusion", "hernia", "normal"] and d.labels.tolist() == [0, 0, 2, 1, 2]
    assert d.card["dropped_several_positive"] == 1 and d.split.tolist() == ["train"] * 4 + ["test"]
    np.savez(tmp_path / "mine.npz", train_images=images, train_labels=np.array([0, 1, 1, 0, 2, 2]))
    assert load_path(tmp_path / "mine.npz", resolution=8).class_names == ["class_0", "class_1", "class_2"]
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(LatentgapError, match=r"cannot read .*bad.npz"):
        load_path(tmp_path / "bad.npz")
    np.savez(tmp_path / "nolabels.npz", train_images=images)
    with pytest.raises(LatentgapError, match=r"nolabels.npz holds \['train_images'\]"):
        load_path(tmp_path / "nolabels.npz")


# --- EchoNet-Dynamic ---


@pytest.fixture
def echonet(tmp_path):
    (tmp_path / "Videos").mkdir()
    rows = []
    for i, (ef, split) in enumerate([(62.0, "TRAIN"), (35.5, "TRAIN"), (55.0, "VAL"), (20.0, "TEST")]):
        write_avi(tmp_path / f"Videos/0X{i}.avi", [20 * i, 20 * i + 100, 20 * i + 50], size=(16, 16))
        rows.append(
            dict(
                FileName=f"0X{i}",
                EF=ef,
                ESV=1.0,
                EDV=2.0,
                FrameHeight=16,
                FrameWidth=16,
                FPS=50,
                NumberOfFrames=3,
                Split=split,
            )
        )
    csv(tmp_path / "FileList.csv", rows)
    return tmp_path


def test_echonet(echonet):
    assert detect_format(echonet) == "echonet" and detect_format(echonet / "FileList.csv") == "echonet"
    before = snapshot(echonet)
    d = checked(load_path(echonet, resolution=8, frames_per_video=2))
    assert snapshot(echonet) == before and d.name == echonet.name
    assert d.images.shape == (8, 3, 8, 8) and d.class_names == ["normal_ef", "reduced_ef"]
    assert d.labels.tolist() == [0, 0, 1, 1, 0, 0, 1, 1] and d.groups.tolist()[:3] == ["0X0", "0X0", "0X1"]
    assert d.split.tolist()[::2] == ["train", "train", "val", "test"]
    assert d.card["ef_by_group"] == {"0X0": 62.0, "0X1": 35.5, "0X2": 55.0, "0X3": 20.0}
    np.testing.assert_allclose(d.images[:2].mean((1, 2, 3)) * 255, [0, 50], atol=4)  # frames 0 and 2 of 3


def test_echonet_bad(echonet):
    (echonet / "Videos/0X2.avi").write_bytes(b"RIFF garbage")
    (echonet / "Videos/0X3.avi").unlink()
    with pytest.raises(LatentgapError, match=r"2 unreadable files: Videos/0X2.avi, Videos/0X3.avi"):
        load_path(echonet, resolution=8)
    pd.read_csv(echonet / "FileList.csv").assign(EF=[50, None, 20, 30]).to_csv(echonet / "FileList.csv", index=False)
    with pytest.raises(LatentgapError, match=r"1 videos in FileList.csv without a numeric EF: 0X1"):
        load_path(echonet)


# --- chest-xray (Kermany / Kaggle chest_xray) ---


@pytest.fixture
def chest(tmp_path):
    """chest-xray-pneumonia/chest_xray/{train,test}/{NORMAL,PNEUMONIA}/ with every file-name pattern upstream has."""
    names = [
        "train/NORMAL/IM-0115-0001.jpeg",
        "train/NORMAL/IM-0115-0002.jpeg",
        "train/NORMAL/NORMAL2-IM-0383-0001.jpeg",
        "train/PNEUMONIA/person1_bacteria_1.jpeg",
        "train/PNEUMONIA/person1_virus_2.jpeg",
        "train/PNEUMONIA/person447_virus_921_1.jpeg",
        "test/NORMAL/IM-0011-0001-0001.jpeg",
        "test/PNEUMONIA/person3_virus_5.jpeg",
        "test/PNEUMONIA/scan.jpeg",
    ]
    root = tmp_path / "chest-xray-pneumonia/chest_xray"
    for i, name in enumerate(names):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 10, 3), 20 * i, np.uint8)).save(root / name, quality=95)
    return tmp_path / "chest-xray-pneumonia"


def test_chest_xray(chest):
    assert detect_format(chest) == "chest-xray" and detect_format(chest / "chest_xray") == "chest-xray"
    d = checked(load_path(chest, resolution=8))
    assert d.class_names == ["NORMAL", "PNEUMONIA"] and d.labels.tolist() == [0, 0, 0, 1, 1, 1, 0, 1, 1]
    assert d.groups.tolist() == [
        "IM-0115",
        "IM-0115",
        "NORMAL2-IM-0383",
        "person1",
        "person1",
        "person447",
        "IM-0011",
        "person3",
        "test/PNEUMONIA/scan.jpeg",
    ]
    assert d.split.tolist() == ["train"] * 6 + ["test"] * 3 and d.card["official_split"]["test"] == 3
    assert d.card["warnings"] == ["1 file names carry no patient id (e.g. scan.jpeg): each is its own group"]
    assert d.card["wrapper"] == "read chest_xray/ inside chest-xray-pneumonia/"
    (chest / "chest_xray/test/PNEUMONIA/scan.jpeg").unlink()
    kinds = checked(load_path(chest, resolution=8, labels="normal-bacteria-virus"))
    assert kinds.class_names == ["NORMAL", "bacteria", "virus"] and kinds.labels.tolist()[3:6] == [1, 2, 2]
    assert kinds.card["labels"] == "normal-bacteria-virus" and kinds.card["warnings"] == []


def test_chest_xray_patient_in_both_splits_and_bad_labels(chest):
    Image.fromarray(np.full((12, 10, 3), 250, np.uint8)).save(chest / "chest_xray/test/PNEUMONIA/person1_virus_9.jpeg")
    d = checked(load_path(chest, resolution=8))
    assert d.split is None and d.card["groups_crossing_split"] == 1  # person1 in train and test: grouped CV instead
    assert d.card["split_on_disk"] == {"train": 6, "val": 0, "test": 4} and d.card["official_split"] is None
    assert (
        "1 groups hold images in two official splits (person1): the official split is not used"
        in d.card["warnings"][-1]
    )
    with pytest.raises(LatentgapError, match=r"1 PNEUMONIA files without _bacteria_ or _virus_ in the name: scan.jpeg"):
        load_path(chest, labels="normal-bacteria-virus")
    with pytest.raises(LatentgapError, match=r"labels='viral' does not apply to chest-xray; it takes labels normal-pn"):
        load_path(chest, labels="viral")
    with pytest.raises(LatentgapError, match=r"labels='normal-pneumonia' does not apply to image-folder; it has one"):
        load_path(chest, format="image-folder", labels="normal-pneumonia")
    with pytest.raises(LatentgapError, match=r"holds no train/ and test/ folders of NORMAL/ and PNEUMONIA/"):
        load_path(chest / "chest_xray/train", format="chest-xray")


# --- HAM10000 ---


@pytest.fixture
def ham(tmp_path):
    """The Dataverse layout: images in two part folders, image_id with .jpg, a `dataset` column, one image missing."""
    rows = []
    for i, (lesion, dx, part) in enumerate(
        [("HAM_1", "nv", 1), ("HAM_1", "nv", 2), ("HAM_2", "mel", 1), ("HAM_3", "bkl", 2), ("HAM_4", "mel", None)]
    ):
        if part:
            (tmp_path / f"HAM10000_images_part_{part}").mkdir(exist_ok=True)
            Image.fromarray(np.full((9, 12, 3), 40 * i, np.uint8)).save(
                tmp_path / f"HAM10000_images_part_{part}/ISIC_{i:07d}.jpg", quality=95
            )
        rows.append(
            dict(
                lesion_id=lesion,
                image_id=f"ISIC_{i:07d}.jpg",
                dx=dx,
                dx_type="histo",
                age=50.0,
                sex="male",
                localization="back",
                dataset="vidir_modern",
            )
        )
    return csv(tmp_path / "HAM10000_metadata.csv", rows)


def test_ham10000(ham):
    assert detect_format(ham) == "ham10000" and detect_format(ham.parent) == "ham10000"
    d = checked(load_path(ham.parent, resolution=8))
    assert d.class_names == ["bkl", "mel", "nv"] and d.labels.tolist() == [2, 2, 1, 0]  # absent classes dropped
    assert d.groups.tolist() == ["HAM_1", "HAM_1", "HAM_2", "HAM_3"] and d.split is None
    assert d.card["missing_images"] == 1 and d.card["image_folders"] == [
        "HAM10000_images_part_1",
        "HAM10000_images_part_2",
    ]
    assert d.card["warnings"] == [
        "1 of 5 rows of HAM10000_metadata.csv have no image (e.g. ISIC_0000004); they are left out"
    ]
    df = pd.read_csv(ham)
    df.assign(image_id=df.image_id.str.replace(".jpg", "")).drop(columns="dataset").to_csv(ham, index=False)
    assert checked(load_path(ham, resolution=8)).groups.tolist() == d.groups.tolist()  # the 7-column original
    df.assign(dx=["nv", "nv", "mel", "bkl", "melanoma"]).to_csv(ham, index=False)
    with pytest.raises(LatentgapError, match=r"1 unknown dx values in HAM10000_metadata.csv: melanoma; HAM10000 has"):
        load_path(ham)


# --- SARS-CoV-2 CT ---


@pytest.fixture
def sars(tmp_path):
    return tree(
        tmp_path / "sarscov2-ctscan-dataset",
        {"Covid/Covid (1).png": 10, "Covid/Covid (2).png": 20, "non-COVID/Non-Covid (1).png": 30},
    )


def test_sars_cov2_ct(sars, tmp_path):
    assert detect_format(sars) == "sars-cov2-ct" and detect_format(tmp_path) == "sars-cov2-ct"  # itself, or wrapped
    d = checked(load_path(tmp_path, resolution=8))
    assert d.class_names == ["COVID", "non-COVID"] and d.labels.tolist() == [0, 0, 1]
    assert d.groups.tolist() == ["Covid/Covid (1).png", "Covid/Covid (2).png", "non-COVID/Non-Covid (1).png"]
    assert d.card["warnings"] == [
        "no patient ids: cross-validation is by image, so slices of one patient can straddle "
        "train and test (leakage); results are optimistic"
    ]
    (sars / "other").mkdir()
    write_png(sars / "other/x.png", gray(1))
    assert detect_format(sars) == "image-folder"  # a third class folder: no longer this layout
    with pytest.raises(LatentgapError, match=r"does not hold exactly COVID/ and non-COVID/"):
        load_path(sars, format="sars-cov2-ct")


# --- the leakage guard (shared pass, every format) ---


@pytest.fixture
def copies(tmp_path):
    """A manifest whose b.png copies a.png under another class and d.png copies c.png in the test split."""
    for name, value in (("a", 10), ("c", 20), ("e", 30), ("f", 40), ("g", 50)):
        write_png(tmp_path / f"{name}.png", gray(value))
    (tmp_path / "b.png").write_bytes((tmp_path / "a.png").read_bytes())
    Image.fromarray(gray(20)).save(tmp_path / "d.png", optimize=True)  # other bytes, same pixels
    rows = [
        dict(path="a.png", label="cat", split="train", patient_id="p1"),
        dict(path="b.png", label="dog", split="train", patient_id="p2"),
        dict(path="c.png", label="cat", split="train", patient_id="p3"),
        dict(path="d.png", label="cat", split="test", patient_id="p4"),
        dict(path="e.png", label="dog", split="test", patient_id="p5"),
        dict(path="f.png", label="cat", split="val", patient_id="p6"),
        dict(path="g.png", label="dog", split="train", patient_id="p7"),
    ]
    return csv(tmp_path / "copies.csv", rows)


def test_duplicates_share_a_group_and_drop_a_crossed_split(copies):
    d = checked(load_path(copies, resolution=8))
    assert d.groups.tolist() == ["p1", "p1", "p3", "p3", "p5", "p6", "p7"]  # a merged group keeps its first id
    c = d.card
    assert (c["duplicate_images"], c["duplicate_groups_merged"], c["duplicate_label_conflicts"]) == (2, 2, 1)
    assert c["n_groups"] == 5 and c["groups_crossing_split"] == 1 and d.split is None
    assert c["split_on_disk"] == {"train": 4, "val": 1, "test": 2} and c["official_split"] is None
    assert [w.split(" ")[:3] for w in c["warnings"]] == [
        ["2", "images", "repeat"],
        ["1", "duplicated", "images"],
        ["1", "groups", "hold"],
    ]
    assert "(p3): the official split is not used" in c["warnings"][2]


def test_duplicates_in_one_split_keep_it(copies):
    pd.read_csv(copies).assign(split=["train", "train", "test", "test", "test", "val", "train"]).to_csv(
        copies, index=False
    )
    d = checked(load_path(copies, resolution=8))
    assert d.card["duplicate_images"] == 2 and d.card["groups_crossing_split"] == 0
    assert d.split.tolist() == ["train", "train", "test", "test", "test", "val", "train"]
    assert d.card["official_split"] == d.card["split_on_disk"] == {"train": 3, "val": 1, "test": 3}
    pd.read_csv(copies).drop(index=[1, 3]).to_csv(copies, index=False)  # b.png and d.png out: no copy left
    d = checked(load_path(copies, resolution=8))
    assert d.card["duplicate_images"] == d.card["duplicate_groups_merged"] == 0 and d.card["warnings"] == []


# --- max_images and the registry ---


def test_max_images_whole_groups_deterministic(paper):
    a = checked(load_path(paper, resolution=8, max_images=3))
    b = checked(load_path(paper, resolution=8, max_images=3))
    assert len(a.labels) <= 3 and a.groups.tolist() == b.groups.tolist()
    full = checked(load_path(paper, resolution=8))
    for g in set(a.groups.tolist()):  # every kept group is whole
        assert (a.groups == g).sum() == (full.groups == g).sum()
    assert a.card["max_images"]["limit"] == 3
    with pytest.raises(LatentgapError, match="max_images=0 must be at least 1"):
        load_path(paper, max_images=0)
    with pytest.raises(LatentgapError, match="only one class"):
        load_path(paper, resolution=8, max_images=1)


def test_registry_is_data():
    assert list(FORMATS) == [
        "medmnist",
        "echonet",
        "isic2019",
        "ham10000",
        "ct-rate",
        "paper-manifest",
        "manifest",
        "mimic-cxr",
        "cardium",
        "chest-xray",
        "sars-cov2-ct",
        "image-folder",
    ]
    for f in FORMATS.values():
        assert f.description and f.rule and callable(f.detect) and callable(f.index)
    with pytest.raises(LatentgapError, match="resolution 12 must be a positive multiple of 8"):
        load_path("/nonexistent", resolution=12)


# --- every registered format: detected and read ---


def _medmnist_npz(tmp_path):
    images = np.arange(4 * 8 * 8, dtype=np.uint8).reshape(4, 8, 8)
    np.savez(
        tmp_path / "pneumoniamnist.npz",
        train_images=images[:3],
        train_labels=np.array([[0], [1], [0]]),
        test_images=images[3:],
        test_labels=np.array([[1]]),
    )
    return tmp_path / "pneumoniamnist.npz"


def _cardium_folder(tmp_path):
    for cls, study in (("CHD", "s01"), ("normal", "s02")):
        (tmp_path / "cardium" / cls / study).mkdir(parents=True)
        Image.fromarray(gray(60 if cls == "CHD" else 120)).save(tmp_path / "cardium" / cls / study / "f0.jpg")
    return tmp_path / "cardium"


def _class_folder(tmp_path):
    for cls in ("benign", "malignant"):
        (tmp_path / "folder" / cls).mkdir(parents=True)
        write_png(tmp_path / "folder" / cls / "0.png", gray(50 if cls == "benign" else 200))
    return tmp_path / "folder"


MAKERS = {  # format -> a fixture name above, or a function of tmp_path; the smallest source of that format
    "medmnist": _medmnist_npz,
    "echonet": "echonet",
    "isic2019": "isic",
    "ct-rate": "ct_rate",
    "paper-manifest": "paper",
    "manifest": "manifest",
    "mimic-cxr": "mimic",
    "cardium": _cardium_folder,
    "chest-xray": "chest",
    "ham10000": "ham",
    "sars-cov2-ct": "sars",
    "image-folder": _class_folder,
}


def test_every_format_has_a_maker():
    assert set(MAKERS) == set(FORMATS), "a format was added or removed: give it a maker in MAKERS"


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_is_detected_and_read(name, request, tmp_path):
    assert name in MAKERS, f"format {name} has no maker in MAKERS"
    make = MAKERS[name]
    path = request.getfixturevalue(make) if isinstance(make, str) else make(tmp_path)
    assert detect_format(path) == name
    d = checked(load_path(path, resolution=8))
    assert d.card["format"] == name and len(d.class_names) >= 2
