"""Real medical pixels that ship inside installable packages (`pydicom`, `pydicom-data`): each file's content,
provenance and license, its local path (read offline, never downloaded) and its pixels in modality units."""

from __future__ import annotations

import functools
import hashlib
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from latentgap.errors import LatentgapError

_NEMA_WG04 = (
    "NEMA WG-04 compression test images (ftp://medical.nema.org/MEDICAL/Dicom/DataSets/WG04), as stated in "
    "pydicom's data/test_files/README.txt"
)
_PYDICOM_README = (
    "pydicom's README for its test files: 'I believe there is no restriction on using any of these "
    "files in this manner'"
)
SOURCE_FILES = {
    "RG1_UNCR.dcm": dict(
        package="pydicom-data",
        content="computed radiography, frontal (PA) chest of an adult (BodyPartExamined CHEST, 'THORAX'), Philips, "
        "1955x1841 px, 15 bits, MONOCHROME1. The radiograph itself shows several round opacities in both lungs (no "
        "diagnosis is documented); they are in every image of every class, so they carry no class information, and "
        "'no_finding' images are not normal chests",
        provenance=f"uncompressed version of RG1 from the {_NEMA_WG04}",
        license="file distributed in pydicom-data under its MIT license; the NEMA WG-04 image states no license of its "
        f"own ({_PYDICOM_README}): license of the pixel content unknown",
    ),
    "explicit_VR-UN.dcm": dict(
        package="pydicom-data",
        content="axial abdominal CT slice at the level of the pancreas and kidneys (BodyPartExamined PANCREAS), "
        "512x512, values in HU, JPEG 2000 (decoded by Pillow through pydicom)",
        provenance="test data of pydicom issue #968; original image from The Cancer Imaging Archive (TCIA, 'freely "
        "available de-identified datasets', collection not named), compressed with gdcmconv --j2k (pydicom README)",
        license="file distributed in pydicom-data under its MIT license; the TCIA collection is not named, so the "
        "license of the pixel content is unknown (TCIA collections are typically CC BY 3.0/4.0)",
    ),
    "CT_small.dcm": dict(
        package="pydicom",
        content="axial chest CT, 128x128 field of about 85 mm around a thoracic vertebra: vertebral body, spinal "
        "canal, descending aorta, paraspinal muscles and both posterior lungs with vessels; HU = value - 1024",
        provenance=f"downsized to 128x128 from CT1_UNC of the {_NEMA_WG04}",
        license="file distributed in pydicom under its MIT license; the NEMA WG-04 image states no license of its own "
        f"({_PYDICOM_README}): license of the pixel content unknown",
    ),
    "color3d_jpeg_baseline.dcm": dict(
        package="pydicom-data",
        content="echocardiography cine, apical four-chamber view of an adult heart, SonoSite, 120 frames of 480x640 "
        "(YBR_FULL_422 baseline JPEG, decoded by Pillow); every 5th frame (24) is used",
        provenance="origin not documented in pydicom's README (which only says that its examples_ybr_color.dcm is "
        "derived from this file)",
        license="file distributed in pydicom-data under its MIT license; origin undocumented, so the license of the "
        "pixel content is unknown",
    ),
}
PACKAGE_LICENSES = {
    "pydicom": "MIT (https://github.com/pydicom/pydicom)",
    "pydicom-data": "MIT (https://github.com/pydicom/pydicom-data)",
}


def _source_path(name: str) -> str:
    """Local path of a pydicom test file; never downloads (a missing file is a user error naming the fix)."""
    try:
        from pydicom.data import get_testdata_file

        path = get_testdata_file(name, download=False)
    except ImportError:
        path = None
    if path is None:
        raise LatentgapError(
            f"real pixels {name!r} not found locally: the embedded benchmarks read them offline "
            "from the pydicom and pydicom-data packages; install them with "
            "`pip install -r requirements.txt`"
        )
    return path


@functools.cache
def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def file_cards(files: tuple[str, ...]) -> list[dict]:
    """Card entries for the real-pixel `files` (keys of SOURCE_FILES): file, package and version, path inside the
    package, sha256, license, provenance, content and use. Empty for a procedural benchmark."""
    out = []
    for name in files:
        info = dict(SOURCE_FILES[name])
        path = _source_path(name)
        pkg = info.pop("package")
        where = Path(path).relative_to(Path(path).parents[2]).as_posix()  # inside site-packages
        out.append(
            dict(
                file=name,
                package=f"{pkg} {metadata.version(pkg)}",
                package_license=PACKAGE_LICENSES[pkg],
                path=where,
                sha256=_sha256(path),
                **info,
            )
        )
    return out


@functools.cache
def _dicom(name: str, frames: tuple[int, ...] | None = None) -> np.ndarray:
    """Pixels of a packaged DICOM as float32 (frames, H, W) in modality units (rescale applied); colour -> luminance."""
    import pydicom
    from pydicom.pixels import apply_rescale, pixel_array

    path = _source_path(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if frames is None:
            ds = pydicom.dcmread(path)
            a = apply_rescale(ds.pixel_array, ds).astype(np.float32)[None]
        else:
            a = np.stack([pixel_array(path, index=i) for i in frames]).astype(np.float32)
    return a.mean(-1) if a.ndim == 4 else a
