"""CARDIUM fetal echo frames: `root/{CHD,normal}/STUDY/*.png|jpg`; group = study."""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets import readers
from latentgap.datasets.formats._common import (
    IMAGE_KINDS,
    Format,
    Index,
    Options,
    _image_files,
    _image_reader,
    _listing,
    _rows,
    _subdirs,
    register,
)
from latentgap.errors import LatentgapError

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


def _detect_cardium(p: Path) -> bool:
    if not p.is_dir():
        return False
    dirs = _subdirs(p)
    return {d.name.lower() for d in dirs} == {"chd", "normal"} and any(_subdirs(d) for d in dirs)


register(
    Format(
        "cardium",
        "CARDIUM fetal echo frames: root/{CHD,normal}/STUDY/*.png|jpg; group = study",
        "a folder whose subfolders are CHD and normal, holding study folders",
        _detect_cardium,
        _index_cardium,
        False,
        order=80,
    )
)
