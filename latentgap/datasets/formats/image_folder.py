"""Generic image folders: `root/CLASS/*.png|jpg|dcm`; `CLASS/PATIENT/...` groups by PATIENT, else one per file.

Split folders above the classes (`root/{train,val,test}/CLASS/...`, any names SPLITS knows: training, valid, ...)
are the official split when every top folder is such a name and holds class folders with images. A single wrapper
folder above either layout (as archives unpack) is looked through. A group (a PATIENT folder) found under two split
folders drops the split with a warning (the shared pass); a flat file is its own group, named by its path.
"""

from __future__ import annotations

from pathlib import Path

from latentgap.datasets import readers
from latentgap.datasets.formats._common import (
    IMAGE_KINDS,
    SPLITS,
    Format,
    Index,
    Options,
    _image_files,
    _image_reader,
    _rows,
    _subdirs,
    _unwrap,
    register,
)
from latentgap.errors import LatentgapError


def _has_images(folder: Path) -> bool:
    return any(readers.file_kind(f) in IMAGE_KINDS for f in folder.rglob("*"))


def _split_folders(folder: Path) -> list[tuple[str, Path]] | None:
    """[(split, top folder), ...] when the classes sit under two or more split folders, else None."""
    tops = _subdirs(folder)
    if len(tops) < 2 or any(t.name.lower() not in SPLITS for t in tops):
        return None
    if not all(any(_has_images(d) for d in _subdirs(t)) for t in tops):
        return None
    return [(SPLITS[t.name.lower()], t) for t in tops]


def _fits(folder: Path) -> bool:
    """Split folders above classes, or two or more class folders holding images."""
    return _split_folders(folder) is not None or sum(_has_images(d) for d in _subdirs(folder)) >= 2


def _index_image_folder(path: Path, root: None, opt: Options) -> Index:
    folder = _unwrap(path, _fits) or path
    tops = _split_folders(folder)
    sources, classes, groups, split, empty, other, by_top = [], [], [], [], [], 0, {}
    for part, top in tops or [(None, folder)]:
        for d in _subdirs(top):
            files, n_other = _image_files(d)
            other += n_other
            if not files:
                empty.append(d.relative_to(folder).as_posix())
                continue
            by_top.setdefault(top.name, set()).add(d.name)
            for f in files:
                rel = f.relative_to(d)  # CLASS/PATIENT/x.png groups by PATIENT; a flat CLASS/x.png is its own group
                sources.append(f)
                classes.append(d.name)
                groups.append(rel.parts[0] if len(rel.parts) > 1 else f.relative_to(folder).as_posix())
                split.append(part)
    if not sources:
        raise LatentgapError(
            f"no images found in {path}; image-folder expects root/CLASS/*.png|jpg|dcm "
            "(or root/{train,val,test}/CLASS/*)"
        )
    names = sorted(set(classes))
    warnings = [
        f"split folder {top} has no {', '.join(sorted(set(names) - held))} images"
        for top, held in by_top.items()
        if tops and set(names) - held
    ]
    card = dict(
        groups="first subfolder under the class folder, else one per image",
        skipped_files=other,
        empty_class_folders=empty,
        warnings=warnings,
    )
    if tops:
        card["layout"] = f"split folders {', '.join(t.name for _, t in tops)} above the class folders"
    if folder != path:
        card["wrapper"] = f"read {folder.relative_to(path).as_posix()}/ inside {path.name}/"
    label = {c: i for i, c in enumerate(names)}
    rows = _rows(sources, [label[c] for c in classes], groups, split if tops else None)
    return Index(rows, names, _image_reader(opt), card, crossing="cv")


def _detect_image_folder(p: Path) -> bool:
    if not p.is_dir():
        return False
    return any(readers.file_kind(f) in IMAGE_KINDS for d in _subdirs(p) for f in d.rglob("*"))


register(
    Format(
        "image-folder",
        "root/CLASS/*.png|jpg|dcm; CLASS/PATIENT/... groups by PATIENT, else one group per "
        "file; split folders above the classes (train/val/test/CLASS/...) give the official split",
        "a folder of class subfolders holding images (or of split folders holding those, or a wrapper above either)",
        _detect_image_folder,
        _index_image_folder,
        False,
        order=90,
    )
)
