"""Real datasets on disk as data: one registry entry per layout, `detect_format(path)` and `load_path(...) -> Dataset`.

A format only indexes its source (labels, groups, official split, which file yields which images; no pixel read).
One shared pass then keeps `max_images` whole groups, reads and resizes every image (readers.py) and checks the
result. Single labels follow the paper: one class per image, multi-label rows handled as each format says. Loading
writes nothing anywhere: no cache, no partial files.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from latentgap.datasets import readers
from latentgap.datasets.registry import Dataset
from latentgap.errors import LatentgapError

SHOWN = 3  # offending files named in an error message; the rest are counted
SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
          "validation": "val", "test": "test"}  # fmt: skip
IMAGE_KINDS = ("png", "jpeg", "dicom")  # what the folder formats pick up
NORMAL = "normal"  # the class of a multi-label row with no positive finding (ChestMNIST, CT-RATE)


@dataclass(frozen=True)
class Options:
    """How sources become images; validated once so every format can trust it."""

    resolution: int = 64
    window: readers.Window = None  # DICOM / NIfTI intensity window (readers.WINDOWS name, "minmax" or (lo, hi))
    slices_per_volume: int = 4
    frames_per_video: int = 4

    def __post_init__(self):
        if not isinstance(self.resolution, int) or self.resolution <= 0 or self.resolution % 8:
            raise LatentgapError(f"resolution {self.resolution} must be a positive multiple of 8")
        for name in ("slices_per_volume", "frames_per_video"):
            if getattr(self, name) < 1:
                raise LatentgapError(f"{name}={getattr(self, name)} must be at least 1")
        readers.window_range(self.window, None)  # raises on an unknown window name


@dataclass
class Index:
    """What a format found before reading any pixel."""

    rows: pd.DataFrame  # one row per source: source, label (int), group (str), split (str | None), count (images)
    class_names: list[str]
    read: Callable  # a row (from rows.itertuples) -> its native images, each (C, H, W) float32 in [0, 1]
    card: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    rule: str  # the detection rule in words
    detect: Callable[[Path], bool]  # cheap: names and CSV headers only
    index: Callable[[Path, Path | None, Options], Index]
    csv: bool  # paths come from a CSV and resolve under a data root


# --- messages and shared checks ---


def _listing(what: str, names: list, fix: str) -> LatentgapError:
    """'3 unreadable files: a.png, b.png, c.png and 2 more; fix' -- the first few named, all counted."""
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return LatentgapError(f"{len(names)} {what}: {', '.join(map(str, names[:SHOWN]))}{more}; {fix}")


def _rows(sources, labels, groups, split=None, count: int = 1, **extra) -> pd.DataFrame:
    n = len(sources)
    split = [None] * n if split is None else list(split)
    return pd.DataFrame(dict(source=list(sources), label=np.asarray(labels, dtype=np.int64),
                             group=np.asarray(groups).astype(str), split=split, count=count, **extra))  # fmt: skip


def _read_csv(path: Path, nrows: int | None = None) -> pd.DataFrame:
    try:
        return pd.read_csv(path, nrows=nrows)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise LatentgapError(f"cannot read CSV {path}: {e}; give a comma-separated file with a header row") from e


def _header(path: Path) -> pd.DataFrame | None:
    """The first rows of a CSV for detection, or None if `path` is not a readable CSV."""
    if not (path.is_file() and path.name.lower().endswith((".csv", ".csv.gz"))):
        return None
    try:
        return _read_csv(path, nrows=200)
    except LatentgapError:
        return None


def _require(df: pd.DataFrame, columns: list[str], csv: Path, expected: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise LatentgapError(f"{csv.name} lacks column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns))})"
                             f"; expected {expected}")  # fmt: skip


def _no_missing(df: pd.DataFrame, columns: list[str], csv: Path) -> None:
    for c in columns:
        empty = df[c].isna() | (df[c].astype(str).str.strip() == "")
        if empty.any():
            rows = [f"row {i + 2}" for i in np.flatnonzero(empty)]  # +2: 1-based, after the header line
            raise _listing(f"rows of {csv.name} without a {c}", rows, f"fill in {c} or drop those rows")


def _binary(col: pd.Series, nan_ok: bool) -> bool:
    v = pd.to_numeric(col, errors="coerce")
    if (v.isna() & col.notna()).any() or (not nan_ok and v.isna().any()):
        return False
    return bool(v.dropna().isin([0, 1]).all())


def _onehot(df: pd.DataFrame, columns: list[str], csv: Path, nan_as_zero: bool = False) -> np.ndarray:
    """(N, K) int64 0/1 block of `columns`; anything else (text, -1, 2, blanks unless `nan_as_zero`) is an error."""
    bad = [c for c in columns if not _binary(df[c], nan_as_zero)]
    if bad:
        raise _listing(f"class columns of {csv.name} with values other than 0/1", bad,
                       "one-hot class columns must hold only 0 or 1")  # fmt: skip
    return df[columns].apply(pd.to_numeric).fillna(0).to_numpy(dtype=np.int64)


def _finding_columns(df: pd.DataFrame, exclude: set[str], csv: Path, nan_ok: bool) -> tuple[list[str], list[str]]:
    """(0/1 finding columns, ignored other columns); CheXpert-style -1 'uncertain' columns are an error."""
    findings, ignored, uncertain = [], [], []
    for c in df.columns:
        if c in exclude:
            continue
        v = pd.to_numeric(df[c], errors="coerce")
        if _binary(df[c], nan_ok):
            findings.append(c)
        elif (v.notna() == df[c].notna()).all() and v.dropna().isin([-1, 0, 1]).all():
            uncertain.append(c)
        else:
            ignored.append(str(c))
    if uncertain:
        raise _listing(f"finding columns of {csv.name} with -1 (uncertain) values", uncertain,
                       "map uncertain labels to 0 or 1 first (e.g. the U-zeros or U-ones policy)")  # fmt: skip
    return findings, ignored


def _single_label(onehot: np.ndarray, names: pd.Series, csv: Path) -> np.ndarray:
    """(N,) class index of one-hot rows; a row with no or several positive columns is an error."""
    n_pos = onehot.sum(1)
    for what, bad in (("no positive class column", n_pos == 0), ("several positive class columns", n_pos > 1)):
        if bad.any():
            raise _listing(f"rows of {csv.name} with {what}", list(names[bad]),
                           "give every row exactly one 1 among the class columns")  # fmt: skip
    return onehot.argmax(1)


def _split_values(col: pd.Series, csv: Path) -> np.ndarray:
    mapped = col.astype(str).str.strip().str.lower().map(SPLITS)
    if mapped.isna().any():
        bad = sorted({str(v) for v in col[mapped.isna()]})
        raise _listing(f"unknown {col.name} values in {csv.name}", bad, "use train, val (or valid/validate) or test")
    return mapped.to_numpy().astype(str)


def _resolve(raw: pd.Series, root: Path, csv: Path) -> list[Path]:
    """Paths of `raw` under `root`; one escaping it (../ or an absolute path elsewhere) is refused, not read."""
    base = os.path.abspath(root)
    out, escaped = [], []
    for p in raw.astype(str):
        full = os.path.abspath(os.path.join(base, p))  # an absolute p replaces base; lexical, so symlinks still work
        if os.path.commonpath([base, full]) != base:
            escaped.append(p)
        out.append(Path(full))
    if escaped:
        raise _listing(f"paths in {csv.name} escaping the data root {root}", escaped,
                       "keep every image under the data root (or pass a data root that holds them)")  # fmt: skip
    return out


def _as_id(col: pd.Series) -> pd.Series:
    """Ids as strings; a numeric column read as float (because of blanks elsewhere) loses its '.0'."""
    if pd.api.types.is_float_dtype(col) and (col.dropna() % 1 == 0).all():
        return col.astype("Int64").astype(str)
    return col.astype(str).str.strip()


def _subdirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise LatentgapError(
            f"{folder} is not a folder; the folder formats (image-folder, cardium) take the root folder"
        )
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _image_files(folder: Path) -> tuple[list[Path], int]:
    """Supported image files under `folder` (recursive, hidden entries skipped), and how many other files."""
    files, other = [], 0
    for f in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in f.relative_to(folder).parts) or not f.is_file():
            continue
        if readers.file_kind(f) in IMAGE_KINDS:
            files.append(f)
        else:
            other += 1
    return files, other


def _image_reader(opt: Options) -> Callable:
    def read(row) -> list[np.ndarray]:
        index = getattr(row, "slice", None)
        return [readers.decode_image(row.source, opt.window, None if pd.isna(index) else int(index))]

    return read


# --- paper-manifest and manifest ---

PAPER_EXPECTED = "path, id (group), optional Split, and one 0/1 column per class"
MANIFEST_EXPECTED = "path,label[,split,patient_id[,slice]]"


def _index_paper_manifest(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["path", "id"], path, PAPER_EXPECTED)
    _no_missing(df, ["path", "id"], path)
    split_col = next((c for c in ("Split", "split") if c in df.columns), None)
    ignored = [c for c in df.columns if str(c).startswith("Unnamed:")]  # a saved pandas index
    classes = [c for c in df.columns if c not in ("path", "id", split_col, *ignored)]
    if len(classes) < 2:
        raise LatentgapError(f"{path.name} has class column(s) {classes}; paper-manifest needs {PAPER_EXPECTED}")
    labels = _single_label(_onehot(df, classes, path), df["path"].astype(str), path)
    split = _split_values(df[split_col], path) if split_col else None
    rows = _rows(_resolve(df["path"], root, path), labels, _as_id(df["id"]), split)
    card = dict(groups="id column", split_column=split_col, ignored_columns=[str(c) for c in ignored])
    return Index(rows, [str(c) for c in classes], _image_reader(opt), card)


def _natural(names) -> list[str]:
    return sorted(names, key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))


def _index_manifest(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["path", "label"], path, MANIFEST_EXPECTED)
    _no_missing(df, ["path", "label"] + [c for c in ("split", "patient_id") if c in df.columns], path)
    text = _as_id(df["label"])
    class_names = _natural(text.unique().tolist())
    labels = text.map({c: i for i, c in enumerate(class_names)}).to_numpy()
    sources = _resolve(df["path"], root, path)
    groups = _as_id(df["patient_id"]) if "patient_id" in df.columns else df["path"].astype(str)
    split = _split_values(df["split"], path) if "split" in df.columns else None
    extra = dict(slice=pd.to_numeric(df["slice"]).to_numpy()) if "slice" in df.columns else {}
    card = dict(groups="patient_id column" if "patient_id" in df.columns else "one per image (no patient_id column)")
    if any(readers.file_kind(p) == "nifti" for p in sources):
        card["nifti"] = "a volume gives its middle axial slice unless the slice column names one"
    return Index(_rows(sources, labels, groups, split, **extra), class_names, _image_reader(opt), card)


# --- image-folder and cardium ---


def _index_image_folder(path: Path, root: None, opt: Options) -> Index:
    sources, labels, groups, names, empty, other = [], [], [], [], [], 0
    for d in _subdirs(path):
        files, n_other = _image_files(d)
        other += n_other
        if not files:
            empty.append(d.name)
            continue
        for f in files:
            rel = f.relative_to(d)  # CLASS/PATIENT/x.png groups by PATIENT; a flat CLASS/x.png is its own group
            sources.append(f)
            labels.append(len(names))
            groups.append(rel.parts[0] if len(rel.parts) > 1 else f"{d.name}/{rel.as_posix()}")
        names.append(d.name)
    if not sources:
        raise LatentgapError(f"no images found in {path}; image-folder expects root/CLASS/*.png|jpg|dcm")
    card = dict(groups="first subfolder under the class folder, else one per image", skipped_files=other,
                empty_class_folders=empty)  # fmt: skip
    return Index(_rows(sources, labels, groups), names, _image_reader(opt), card)


CARDIUM_CLASSES = ["normal", "CHD"]


def _index_cardium(path: Path, root: None, opt: Options) -> Index:
    dirs = {d.name.lower(): d for d in _subdirs(path)}
    unknown = [d.name for k, d in dirs.items() if k not in ("chd", "normal")]
    if unknown:
        raise _listing(f"unknown class folders in {path}", unknown, "cardium expects only CHD/ and normal/")
    sources, labels, groups, loose, other = [], [], [], [], 0
    for label, name in enumerate(CARDIUM_CLASSES):
        if name.lower() not in dirs:
            continue
        d = dirs[name.lower()]
        loose += [f.name for f in d.iterdir() if f.is_file() and readers.file_kind(f) in IMAGE_KINDS]
        for study in _subdirs(d):
            files, n_other = _image_files(study)
            other += n_other
            sources += files
            labels += [label] * len(files)
            groups += [study.name] * len(files)
    if loose:
        raise _listing(
            f"frames outside a study folder in {path}", loose, "cardium expects root/{CHD,normal}/STUDY/*.png"
        )
    if not sources:
        raise LatentgapError(f"no frames found in {path}; cardium expects root/{{CHD,normal}}/STUDY/*.png|jpg")
    card = dict(groups="study folder", skipped_files=other)
    return Index(_rows(sources, labels, groups), CARDIUM_CLASSES, _image_reader(opt), card)


# --- ISIC 2019 ---

ISIC_GT = "ISIC_2019_Training_GroundTruth.csv"
ISIC_META = "ISIC_2019_Training_Metadata.csv"
ISIC_IMAGES = "ISIC_2019_Training_Input"
ISIC_CLASSES = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC"]


def _index_isic2019(path: Path, root: Path, opt: Options) -> Index:
    csv = path / ISIC_GT if path.is_dir() else path
    df = _read_csv(csv)
    _require(df, ["image", *ISIC_CLASSES], csv, f"image, {', '.join(ISIC_CLASSES)}[, UNK]")
    _no_missing(df, ["image"], csv)
    onehot = _onehot(df, ISIC_CLASSES + (["UNK"] if "UNK" in df.columns else []), csv)
    unk = onehot[:, len(ISIC_CLASSES) :].any(1)
    zero = onehot.sum(1) == 0
    keep = ~unk & ~zero
    df, onehot = df[keep].reset_index(drop=True), onehot[keep, : len(ISIC_CLASSES)]
    labels = _single_label(onehot, df["image"].astype(str), csv)
    folder = f"{ISIC_IMAGES}/" if (root / ISIC_IMAGES).is_dir() else ""
    sources = _resolve(folder + df["image"].astype(str) + ".jpg", root, csv)
    groups, grouping = df["image"].astype(str), "image id (no metadata CSV)"
    if (csv.parent / ISIC_META).is_file():
        meta = _read_csv(csv.parent / ISIC_META)
        _require(meta, ["image", "lesion_id"], csv.parent / ISIC_META, "image, age_approx, ..., lesion_id, sex")
        lesion = df["image"].map(meta.drop_duplicates("image").set_index("image")["lesion_id"])
        grouping = f"lesion_id from {ISIC_META}; image id for {int(lesion.isna().sum())} images without one"
        groups = lesion.fillna(df["image"]).astype(str)
    card = dict(groups=grouping, images_folder=folder or ".", dropped_unk=int(unk.sum()),
                dropped_all_zero=int((zero & ~unk).sum()))  # fmt: skip
    return Index(_rows(sources, labels, groups), list(ISIC_CLASSES), _image_reader(opt), card)


# --- MIMIC-CXR-JPG (CXR-LT-style labels) ---

MIMIC_META = {"dicom_id", "path", "subject_id", "study_id", "split", "Split"}


def _index_mimic_cxr(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    need = ["subject_id"] + ([] if "path" in df.columns else ["study_id", "dicom_id"])
    _require(df, need, path, "subject_id plus path, or study_id and dicom_id, and one 0/1 column per finding")
    _no_missing(df, need + (["path"] if "path" in df.columns else []), path)
    findings, ignored = _finding_columns(df, MIMIC_META, path, nan_ok=True)  # blank = not mentioned = 0
    if len(findings) < 2:
        raise LatentgapError(
            f"{path.name} has finding column(s) {findings}; mimic-cxr needs one 0/1 column per finding"
        )
    n_pos = _onehot(df, findings, path, nan_as_zero=True).sum(1)
    keep = n_pos == 1  # single label like the paper: multi-finding and unlabelled studies are dropped, and counted
    if not keep.any():
        raise LatentgapError(f"no row of {path.name} has exactly one positive finding; mimic-cxr is single-label")
    df = df[keep].reset_index(drop=True)
    labels = _onehot(df, findings, path, nan_as_zero=True).argmax(1)
    subject = _as_id(df["subject_id"])
    if "path" in df.columns:
        raw = df["path"].astype(str)
    else:  # MIMIC-CXR-JPG layout: files/p10/p10000032/s50414267/<dicom_id>.jpg
        raw = "files/p" + subject.str[:2] + "/p" + subject + "/s" + _as_id(df["study_id"]) + "/"
        raw = raw + df["dicom_id"].astype(str) + ".jpg"
    split_col = next((c for c in ("split", "Split") if c in df.columns), None)
    split = _split_values(df[split_col], path) if split_col else None
    card = dict(groups="subject_id", dropped_no_positive=int((n_pos == 0).sum()),
                dropped_several_positive=int((n_pos > 1).sum()), ignored_columns=ignored)  # fmt: skip
    return Index(_rows(_resolve(raw, root, path), labels, subject, split), findings, _image_reader(opt), card)


# --- CT-RATE ---

CT_PATIENT = re.compile(r"^([A-Za-z]+_\d+)_[A-Za-z]+_\d+$")  # train_12_a_1 -> train_12
CT_NORMALS = {"normal", "no finding", "no_finding"}


def _ct_stem(name: str) -> str:
    return re.sub(r"\.nii(\.gz)?$", "", name)


def _ct_volume_paths(names: pd.Series, root: Path) -> pd.Series:
    """Volume paths relative to `root`: as named, the CT-RATE tree (train/train_1/train_1_a/...), else a search."""
    found, by_name = [], None
    for name in names:
        file = name if re.search(r"\.nii(\.gz)?$", name) else f"{name}.nii.gz"
        tree = re.match(r"^([A-Za-z]+)_(\d+)_([A-Za-z]+)_\d+$", _ct_stem(name))
        candidates = [file] + ([f"{tree[1]}/{tree[1]}_{tree[2]}/{tree[1]}_{tree[2]}_{tree[3]}/{file}"] if tree else [])
        rel = next((c for c in candidates if (root / c).is_file()), None)
        if rel is None:
            by_name = by_name if by_name is not None else {p.name: p for p in sorted(root.rglob("*.nii*"))}
            rel = by_name[file].relative_to(root).as_posix() if file in by_name else file
        found.append(rel)
    return pd.Series(found)


def _index_ct_rate(path: Path, root: Path, opt: Options) -> Index:
    df = _read_csv(path)
    _require(df, ["VolumeName"], path, "VolumeName[, path, split] and one 0/1 column per finding")
    _no_missing(df, ["VolumeName"] + (["path"] if "path" in df.columns else []), path)
    findings, ignored = _finding_columns(df, {"VolumeName", "path", "split", "Split"}, path, nan_ok=False)
    if not findings:
        raise LatentgapError(f"{path.name} has no 0/1 finding column; ct-rate needs VolumeName + one per finding")
    onehot = _onehot(df, findings, path)
    n_pos = onehot.sum(1)
    has_normal = any(str(f).lower() in CT_NORMALS for f in findings)
    # single label: one finding keeps it; none is "normal" (unless a normal column exists); several are dropped
    keep = n_pos == 1 if has_normal else n_pos <= 1
    labels = np.where(n_pos == 1, onehot.argmax(1), len(findings))[keep]
    class_names = [str(f) for f in findings] + ([] if has_normal else [NORMAL])
    df = df[keep].reset_index(drop=True)
    stems = df["VolumeName"].astype(str).str.strip().map(_ct_stem)
    groups = stems.map(lambda s: m[1] if (m := CT_PATIENT.match(s)) else s)
    split_col = next((c for c in ("split", "Split") if c in df.columns), None)
    split = _split_values(df[split_col], path) if split_col else None
    lo, hi = readers.window_range(opt.window, readers.DEFAULT_CT_WINDOW) or ("min", "max")
    card = dict(
        groups="patient part of VolumeName (train_12_a_1 -> train_12)",
        dropped_several_positive=int((n_pos > 1).sum()),
        dropped_no_positive=int((n_pos == 0).sum()) if has_normal else 0,
        ignored_columns=ignored,
        window=f"{opt.window or readers.DEFAULT_CT_WINDOW}: {lo}..{hi} HU -> [0, 1]",
    )
    if "path" in df.columns:  # pre-extracted slices, one row each
        card["slices"] = "pre-extracted (path column)"
        return Index(_rows(_resolve(df["path"], root, path), labels, groups, split), class_names,
                     _image_reader(opt), card)  # fmt: skip
    sources = _resolve(_ct_volume_paths(df["VolumeName"].astype(str).str.strip(), root), root, path)
    card["slices"] = f"{opt.slices_per_volume} evenly spaced over the central 40% of each volume, axial, anterior up"

    def read(row) -> list[np.ndarray]:
        return readers.decode_volume_slices(row.source, opt.slices_per_volume, opt.window)

    return Index(_rows(sources, labels, groups, split, count=opt.slices_per_volume), class_names, read, card)


# --- MedMNIST+ ---

_ORGANS = ["bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
           "lung-right", "pancreas", "spleen"]  # fmt: skip
MEDMNIST_CLASSES = {  # label names of medmnist/info.py (MedMNIST v2 / MedMNIST+)
    "pathmnist": ["adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle", "normal colon mucosa",
                  "cancer-associated stroma", "colorectal adenocarcinoma epithelium"],
    "chestmnist": ["atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia",
                   "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"],
    "dermamnist": ["actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
                   "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi",
                   "vascular lesions"],
    "octmnist": ["choroidal neovascularization", "diabetic macular edema", "drusen", "normal"],
    "pneumoniamnist": ["normal", "pneumonia"],
    "retinamnist": ["0", "1", "2", "3", "4"],
    "breastmnist": ["malignant", "normal, benign"],
    "bloodmnist": ["basophil", "eosinophil", "erythroblast",
                   "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte",
                   "neutrophil", "platelet"],
    "tissuemnist": ["Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule", "Glomerular endothelial cells",
                    "Interstitial endothelial cells", "Leukocytes", "Podocytes", "Proximal Tubule Segments",
                    "Thick Ascending Limb"],
    "organamnist": _ORGANS,
    "organcmnist": _ORGANS,
    "organsmnist": _ORGANS,
}  # fmt: skip


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise LatentgapError(f"cannot read {path}: {e}; give a MedMNIST .npz (train_images, train_labels, ...)") from e


def _index_medmnist(path: Path, root: None, opt: Options) -> Index:
    arrays = _npz_arrays(path)
    parts = [p for p in ("train", "val", "test") if f"{p}_images" in arrays]
    if not parts or any(f"{p}_labels" not in arrays for p in parts):
        raise LatentgapError(f"{path.name} holds {sorted(arrays)}; medmnist needs train_images/train_labels "
                             "(and val_*, test_*)")  # fmt: skip
    images = {p: arrays[f"{p}_images"] for p in parts}
    for p, x in images.items():
        n = len(arrays[f"{p}_labels"])
        if x.dtype != np.uint8 or not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] == 3)) or len(x) != n:
            raise LatentgapError(f"{path.name}: {p}_images is {x.dtype} {x.shape} for {n} labels; expected uint8 "
                                 "(N, H, W) or (N, H, W, 3)")  # fmt: skip
    y = np.concatenate([arrays[f"{p}_labels"].reshape(len(images[p]), -1) for p in parts]).astype(np.int64)
    part = np.concatenate([[p] * len(images[p]) for p in parts])
    offset = np.concatenate([np.arange(len(images[p])) for p in parts])
    known = (m := re.match(r"^([a-z]+mnist)", path.name.lower())) and MEDMNIST_CLASSES.get(m[1])
    card = dict(groups="one per image (MedMNIST has no patient ids)", dataset=m[1] if known else "unknown")
    if y.shape[1] == 1:  # multi-class
        y = y[:, 0]
        names = list(known) if known else [f"class_{i}" for i in range(int(y.max()) + 1 if y.size else 0)]
        bad = (y < 0) | (y >= len(names))
        if bad.any():
            where = [f"{part[i]}[{offset[i]}]={y[i]}" for i in np.flatnonzero(bad)]
            raise _listing(f"unknown labels in {path.name} ({len(names)} classes)", where,
                           "check that the file name matches its MedMNIST dataset")  # fmt: skip
    else:  # multi-label (ChestMNIST): one positive keeps it, none is "normal", several are dropped
        if not np.isin(y, [0, 1]).all():
            raise LatentgapError(f"{path.name}: multi-label labels hold values other than 0/1")
        names = list(known) if known and len(known) == y.shape[1] else [f"class_{i}" for i in range(y.shape[1])]
        n_pos = y.sum(1)
        keep = n_pos <= 1
        card["dropped_several_positive"] = int((~keep).sum())
        y, part, offset = np.where(n_pos == 1, y.argmax(1), len(names))[keep], part[keep], offset[keep]
        names.append(NORMAL)
    groups = np.char.add(np.char.add(part.astype(str), "-"), offset.astype(str))
    sources = list(zip(part.tolist(), offset.tolist()))

    def read(row) -> list[np.ndarray]:
        x = images[row.source[0]][row.source[1]].astype(np.float32) / 255.0
        return [x[None] if x.ndim == 2 else x.transpose(2, 0, 1)]

    return Index(_rows(sources, y, groups, part), names, read, card)


# --- EchoNet-Dynamic ---

EF_THRESHOLD = 50.0  # % ; below it the ejection fraction is reduced (the usual clinical cut-off)
ECHONET_CLASSES = ["normal_ef", "reduced_ef"]


def _index_echonet(path: Path, root: None, opt: Options) -> Index:
    folder = path if path.is_dir() else path.parent
    csv = folder / "FileList.csv"
    df = _read_csv(csv)
    _require(df, ["FileName", "EF", "Split"], csv, "FileName, EF, Split (TRAIN/VAL/TEST), ...")
    _no_missing(df, ["FileName", "Split"], csv)
    ef = pd.to_numeric(df["EF"], errors="coerce")
    if ef.isna().any():
        raise _listing(f"videos in {csv.name} without a numeric EF", list(df["FileName"][ef.isna()]),
                       "fill in EF or drop those rows")  # fmt: skip
    names = df["FileName"].astype(str).str.strip()
    stems = names.str.replace(r"\.avi$", "", regex=True, case=False)
    sources = _resolve("Videos/" + stems + ".avi", folder, csv)
    labels = (ef < EF_THRESHOLD).astype(int).to_numpy()
    card = dict(groups="video", ef_threshold=EF_THRESHOLD, ef_by_group=dict(zip(stems, ef.astype(float).tolist())),
                frames=f"{opt.frames_per_video} evenly spaced frames per video")  # fmt: skip

    def read(row) -> list[np.ndarray]:
        return readers.decode_video_frames(row.source, opt.frames_per_video)

    rows = _rows(sources, labels, stems, _split_values(df["Split"], csv), count=opt.frames_per_video)
    return Index(rows, ECHONET_CLASSES, read, card)


# --- detection rules ---


def _has(path: Path, *columns: str) -> bool:
    head = _header(path)
    return head is not None and all(c in head.columns for c in columns)


def _detect_echonet(p: Path) -> bool:
    folder = p if p.is_dir() else p.parent if p.name == "FileList.csv" else None
    return folder is not None and (folder / "FileList.csv").is_file() and (folder / "Videos").is_dir()


def _detect_isic(p: Path) -> bool:
    if p.is_dir():
        return (p / ISIC_GT).is_file()
    return _header(p) is not None and (p.name == ISIC_GT or _has(p, "image", "MEL", "NV"))


def _detect_paper_manifest(p: Path) -> bool:
    head = _header(p)
    if head is None or not {"path", "id"} <= set(head.columns):
        return False
    rest = [c for c in head.columns if c not in ("path", "id", "Split", "split") and not str(c).startswith("Unnamed:")]
    return len(rest) >= 2 and all(_binary(head[c], nan_ok=False) for c in rest)


def _detect_cardium(p: Path) -> bool:
    if not p.is_dir():
        return False
    dirs = _subdirs(p)
    return {d.name.lower() for d in dirs} == {"chd", "normal"} and any(_subdirs(d) for d in dirs)


def _detect_image_folder(p: Path) -> bool:
    if not p.is_dir():
        return False
    return any(readers.file_kind(f) in IMAGE_KINDS for d in _subdirs(p) for f in d.rglob("*"))


FORMATS: dict[str, Format] = {
    f.name: f
    for f in [  # in detection order: the first whose rule matches wins
        Format("medmnist", "MedMNIST+ .npz: train/val/test images and labels; official split from the three parts",
               "a .npz file", lambda p: p.is_file() and p.name.lower().endswith(".npz"), _index_medmnist, False),
        Format("echonet", "EchoNet-Dynamic: FileList.csv + Videos/*.avi; a few frames per video, EF < 50% = reduced",
               "a folder with FileList.csv and Videos/ (or that FileList.csv)", _detect_echonet, _index_echonet, False),
        Format("isic2019", f"ISIC 2019: {ISIC_GT} + JPEGs (+ {ISIC_META} for lesion groups); UNK rows dropped",
               f"a CSV named {ISIC_GT} or with image, MEL, NV columns, or a folder holding it",
               _detect_isic, _index_isic2019, True),
        Format("ct-rate", "CT-RATE: VolumeName + 0/1 findings; NIfTI volumes -> axial slices (or a path column of "
               "pre-extracted slices)", "a CSV with a VolumeName column", lambda p: _has(p, "VolumeName"),
               _index_ct_rate, True),
        Format("paper-manifest", "the paper's CSV: path, id (group), optional Split, one one-hot column per class",
               "a CSV with path and id columns and at least two 0/1 columns", _detect_paper_manifest,
               _index_paper_manifest, True),
        Format("manifest", f"generic CSV {MANIFEST_EXPECTED}; PNG, JPEG, DICOM or NIfTI slices",
               "a CSV with path and label columns", lambda p: _has(p, "path", "label"), _index_manifest, True),
        Format("mimic-cxr", "MIMIC-CXR-JPG with CXR-LT-style labels: subject_id, study_id, dicom_id or path, 0/1 "
               "findings; rows with exactly one positive kept", "a CSV with a dicom_id or subject_id column",
               lambda p: _has(p, "dicom_id") or _has(p, "subject_id"), _index_mimic_cxr, True),
        Format("cardium", "CARDIUM fetal echo frames: root/{CHD,normal}/STUDY/*.png|jpg; group = study",
               "a folder whose subfolders are CHD and normal, holding study folders", _detect_cardium,
               _index_cardium, False),
        Format("image-folder", "root/CLASS/*.png|jpg|dcm; CLASS/PATIENT/... groups by PATIENT, else one group per file",
               "a folder of class subfolders holding images", _detect_image_folder, _index_image_folder, False),
    ]
}  # fmt: skip


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise LatentgapError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return FORMATS[name]


def detect_format(path: str | Path) -> str:
    """The name of the first format in FORMATS whose detection rule matches `path` (a file or folder)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise LatentgapError(f"{path} does not exist; give a dataset file or folder")
    for fmt in FORMATS.values():
        if fmt.detect(path):
            return fmt.name
    raise LatentgapError(f"cannot tell the format of {path}: tried {', '.join(FORMATS)}; name one with --format NAME")


# --- the shared pass: select, check, read, resize ---


def _check_split_groups(rows: pd.DataFrame) -> None:
    known = rows.dropna(subset=["split"])
    if known.empty:
        return
    n_splits = known.groupby("group")["split"].nunique()
    bad = known[known["group"].isin(n_splits.index[n_splits > 1])]
    if len(bad):
        splits = bad.groupby("group")["split"].agg(lambda v: "/".join(sorted(set(v))))
        raise _listing("groups in two official splits", [f"{g} ({s})" for g, s in splits.items()],
                       "each patient must sit in one split; fix the split column")  # fmt: skip


def _select(rows: pd.DataFrame, max_images: int | None) -> pd.DataFrame:
    """Whole groups, in a seeded shuffle of the sorted group ids, while they fit in `max_images` images."""
    if max_images is None:
        return rows
    sizes = rows.groupby("group", sort=True)["count"].sum()
    keep, total = [], 0
    for i in np.random.default_rng(0).permutation(len(sizes)):
        if total + sizes.iloc[i] <= max_images:
            keep.append(sizes.index[i])
            total += sizes.iloc[i]
    if not keep:
        raise LatentgapError(f"max_images={max_images} is smaller than every group ({sizes.min()}+ images); raise it")
    return rows[rows["group"].isin(keep)].reset_index(drop=True)


def _drop_empty_classes(rows: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Classes with no image (after selection) leave the label space; labels are renumbered in order."""
    counts = np.bincount(rows["label"], minlength=len(names))
    kept = np.flatnonzero(counts)
    remap = np.full(len(names), -1)
    remap[kept] = np.arange(len(kept))
    rows = rows.assign(label=remap[rows["label"].to_numpy()])
    return rows, [names[k] for k in kept], [names[k] for k in np.flatnonzero(counts == 0)]


def _same_channels(images: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """(N, C, R, R); grayscale mixed with colour is replicated to 3 channels (lossless) rather than colour dropped."""
    counts = Counter(x.shape[0] for x in images)
    if len(counts) == 1:
        return np.stack(images), f"{images[0].shape[0]} (native)"
    return np.stack([np.repeat(x, 3, 0) if x.shape[0] == 1 else x for x in images]), (
        f"3 ({counts[1]} grayscale images replicated to RGB among {counts[3]} colour ones)"
    )


def _display(source, root: Path) -> str:
    if isinstance(source, Path):
        return source.relative_to(root).as_posix() if source.is_relative_to(root) else str(source)
    return str(source)


def _materialize(path: Path, fmt: Format, index: Index, opt: Options, max_images: int | None,
                 root: Path) -> Dataset:  # fmt: skip
    if index.rows.empty:
        raise LatentgapError(f"no images listed in {path} ({fmt.name}); check the file against: {fmt.description}")
    _check_split_groups(index.rows)
    rows = _select(index.rows, max_images)
    rows, class_names, empty = _drop_empty_classes(rows, index.class_names)
    if len(class_names) < 2:
        after = f" among the {len(rows)} sources kept by max_images={max_images}" if max_images else ""
        raise LatentgapError(f"only one class ({class_names[0]!r}) in {path}{after}; a classifier needs at least two"
                             + ("; raise max_images" if max_images else "; check the labels"))  # fmt: skip
    # --- read and resize ---
    images, owner, sizes, failed, first_error = [], [], Counter(), [], ""
    for i, row in enumerate(rows.itertuples(index=False)):
        try:
            native = index.read(row)
        except LatentgapError as e:
            failed.append(_display(row.source, root))
            first_error = first_error or str(e)
            continue
        for x in native:
            sizes[f"{x.shape[1]}x{x.shape[2]}"] += 1  # H x W at native size
            images.append(readers.resize(x, opt.resolution))
            owner.append(i)
    if failed:
        raise _listing("unreadable files", failed, f"fix or remove them (first error: {first_error})")
    pixels, channels = _same_channels(images)
    owner = np.asarray(owner)
    split = rows["split"].to_numpy()[owner]
    labels = rows["label"].to_numpy(np.int64)[owner]
    groups = rows["group"].to_numpy().astype(str)[owner]
    # --- card ---
    kinds = Counter(readers.file_kind(s) for s in rows["source"] if isinstance(s, Path))
    card = dict(format=fmt.name, source=str(path), data_root=str(root) if fmt.csv else None,
                resolution=opt.resolution, resize=readers.RESIZE_METHOD, channels=channels, n_images=len(labels),
                n_sources=len(rows), n_groups=len(set(groups.tolist())), file_types=dict(kinds),
                class_counts=dict(zip(class_names, np.bincount(labels, minlength=len(class_names)).tolist())),
                source_sizes=dict(sizes.most_common(10)), mixed_sizes=len(sizes) > 1)  # fmt: skip
    if kinds.keys() & {"dicom", "nifti"} and "window" not in index.card:
        card["window"] = opt.window or "DICOM: the file's VOI window, else min-max; NIfTI: lung (-1000..400 HU)"
    if max_images is not None:
        card["max_images"] = dict(limit=max_images, rule="whole groups in a seeded (0) shuffle of the group ids")
    if empty:
        card["dropped_empty_classes"] = empty
    card.update(index.card)
    return Dataset(name=_name(path), images=pixels, labels=labels, groups=groups, class_names=class_names,
                   synthetic=False, card=card, split=None if pd.isna(split).all() else split.astype(str))  # fmt: skip


def _name(path: Path) -> str:
    if path.name == "FileList.csv":  # EchoNet: the folder names the dataset
        return path.parent.name
    return re.sub(r"\.(csv|csv\.gz|npz)$", "", path.name, flags=re.IGNORECASE) or str(path)


def load_path(path: str | Path, format: str | None = None, data_root: str | Path | None = None, resolution: int = 64,
              max_images: int | None = None, *, window: readers.Window = None, slices_per_volume: int = 4,
              frames_per_video: int = 4) -> Dataset:  # fmt: skip
    """A real dataset on disk -> Dataset with images (N, C, R, R) float32 in [0, 1], R = `resolution`.

    `format` is a FORMATS name (default: detected); `data_root` is where a CSV's relative paths resolve
    (default: the CSV's folder; CSV formats only); `max_images` keeps at most that many images, whole groups in
    a seeded shuffle. `window` sets the DICOM/NIfTI intensity window; `slices_per_volume` / `frames_per_video`
    how many axial slices (CT-RATE volumes) or frames (EchoNet videos) each source yields. Writes nothing.
    """
    opt = Options(resolution, window, slices_per_volume, frames_per_video)
    path = Path(os.path.abspath(Path(path).expanduser()))
    if not path.exists():
        raise LatentgapError(f"{path} does not exist; give a dataset file or folder")
    fmt = get_format(format if format is not None else detect_format(path))
    if max_images is not None and max_images < 1:
        raise LatentgapError(f"max_images={max_images} must be at least 1 (or None for all)")
    if data_root is not None and not fmt.csv:
        raise LatentgapError(f"a data root applies to CSV formats only, not {fmt.name}; its files sit under {path}")
    root = (
        Path(os.path.abspath(Path(data_root).expanduser()))
        if data_root is not None
        else (path if path.is_dir() else path.parent)
    )
    if not root.is_dir():
        raise LatentgapError(f"data root {root} is not a folder; give the folder the CSV's paths are relative to")
    return _materialize(path, fmt, fmt.index(path, root, opt), opt, max_images, root)
