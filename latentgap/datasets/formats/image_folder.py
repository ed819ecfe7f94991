"""Generic image folders: `root/CLASS/*.png|jpg|dcm`; `CLASS/PATIENT/...` groups by PATIENT, else one per file."""

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
    _rows,
    _subdirs,
    register,
)
from latentgap.errors import LatentgapError


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


def _detect_image_folder(p: Path) -> bool:
    if not p.is_dir():
        return False
    return any(readers.file_kind(f) in IMAGE_KINDS for d in _subdirs(p) for f in d.rglob("*"))


register(Format("image-folder", "root/CLASS/*.png|jpg|dcm; CLASS/PATIENT/... groups by PATIENT, else one group per "
                "file", "a folder of class subfolders holding images", _detect_image_folder, _index_image_folder,
                False, order=90))  # fmt: skip
