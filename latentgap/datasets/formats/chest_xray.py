"""Kermany paediatric chest X-rays (Kaggle `chest_xray`): `{train,test[,val]}/{NORMAL,PNEUMONIA}/*.jpeg`.

Kermany et al., Cell 172(5), 2018; data doi:10.17632/rscbjbr9sj.2. The official split comes from the split folders;
a single wrapper folder above them (`chest-xray-pneumonia/chest_xray/`, as the archives unpack) is looked through.
Patient groups come from the file names: `personN_bacteria_M` / `personN_virus_M` -> personN (irregular
`person447_virus_921_1` too), `IM-NNNN-MMMM` -> IM-NNNN, `NORMAL2-IM-NNNN-MMMM` -> NORMAL2-IM-NNNN; any other name is
its own group (counted, and a warning). Labels: `normal-pneumonia` (default; NORMAL, PNEUMONIA) or
`normal-bacteria-virus` (NORMAL, bacteria, virus, from the file name).

Split policy: the same id string can occur in train and in test (170 `personN` ids in the public copy); upstream
does not say whether ids restart per split, so such images are kept in one group (a possible patient never sits on
both sides). The official split is then used only if no group crosses it; otherwise the shared pass drops it with a
warning naming the count, and diagnosis cross-validates by patient group (the paper's protocol).
"""

from __future__ import annotations

import re
from pathlib import Path

from latentgap.datasets.formats._common import (
    SPLITS,
    Format,
    Index,
    Options,
    _image_files,
    _image_reader,
    _listing,
    _rows,
    _subdirs,
    _unwrap,
    register,
)
from latentgap.errors import LatentgapError

LABELS = {"normal-pneumonia": ["NORMAL", "PNEUMONIA"], "normal-bacteria-virus": ["NORMAL", "bacteria", "virus"]}
PATIENT = re.compile(r"^(person\d+)_|^((?:NORMAL2-)?IM-\d+)-")  # person1_virus_6 -> person1; IM-0115-0001 -> IM-0115
KIND = re.compile(r"_(bacteria|virus)_", re.IGNORECASE)
LAYOUT = "chest_xray/{train,test[,val]}/{NORMAL,PNEUMONIA}/*.jpeg"


def _split_folders(folder: Path) -> dict[str, Path] | None:
    """{"train": dir, "test": dir[, "val": dir]} when each holds NORMAL/ and PNEUMONIA/ (any case), else None."""
    tops = {SPLITS[d.name.lower()]: d for d in _subdirs(folder) if d.name.lower() in SPLITS}
    if not {"train", "test"} <= tops.keys():
        return None
    if any(not {"normal", "pneumonia"} <= {c.name.lower() for c in _subdirs(d)} for d in tops.values()):
        return None
    return tops


def _index_chest_xray(path: Path, root: None, opt: Options) -> Index:
    folder = _unwrap(path, lambda f: _split_folders(f) is not None)
    if folder is None:
        raise LatentgapError(
            f"{path} holds no train/ and test/ folders of NORMAL/ and PNEUMONIA/; chest-xray expects {LAYOUT}"
        )
    scheme = opt.labels or "normal-pneumonia"
    names = LABELS[scheme]
    sources, labels, groups, split, own_group, no_kind, other = [], [], [], [], [], [], 0
    tops = _split_folders(folder)
    for part in [p for p in ("train", "val", "test") if p in tops]:
        for d in [d for d in _subdirs(tops[part]) if d.name.upper() in ("NORMAL", "PNEUMONIA")]:
            files, n_other = _image_files(d)
            other += n_other
            for f in files:
                kind = KIND.search(f.name)
                if d.name.upper() == "NORMAL":
                    label = 0
                elif scheme == "normal-pneumonia":
                    label = 1
                elif kind is not None:
                    label = names.index(kind[1].lower())
                else:
                    no_kind.append(f.name)
                    continue
                m = PATIENT.match(f.name)
                own_group += [] if m else [f.name]
                sources.append(f)
                labels.append(label)
                groups.append((m[1] or m[2]) if m else f.relative_to(folder).as_posix())
                split.append(part)
    if no_kind:
        raise _listing(
            "PNEUMONIA files without _bacteria_ or _virus_ in the name",
            no_kind,
            "rename them, or read with labels=normal-pneumonia",
        )
    card = dict(
        groups="patient id from the file name (personN, IM-NNNN, NORMAL2-IM-NNNN)",
        labels=scheme,
        names_without_patient_id=len(own_group),
        skipped_files=other,
        warnings=[],
    )
    if own_group:
        card["warnings"].append(
            f"{len(own_group)} file names carry no patient id (e.g. {own_group[0]}): each is its own group"
        )
    if folder != path:
        card["wrapper"] = f"read {folder.relative_to(path).as_posix()}/ inside {path.name}/"
    return Index(_rows(sources, labels, groups, split), names, _image_reader(opt), card, crossing="cv")


def _detect_chest_xray(p: Path) -> bool:
    return _unwrap(p, lambda f: _split_folders(f) is not None) is not None


register(
    Format(
        "chest-xray",
        f"Kermany pediatric chest X-rays (Kaggle chest_xray): {LAYOUT}; official split from the "
        "split folders, patient from the file name; labels normal-pneumonia or normal-bacteria-virus",
        "a folder (or a single wrapper above it) whose train/ and test/ folders both hold NORMAL/ and PNEUMONIA/",
        _detect_chest_xray,
        _index_chest_xray,
        False,
        order=82,
        labels=tuple(LABELS),
    )
)
