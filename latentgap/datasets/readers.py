"""One medical image file -> float32 (C, H, W) in [0, 1] at its native size, then a plain resize to (R, R).

PNG/JPEG (Pillow), DICOM (pydicom), NIfTI (nibabel: axial slices of a volume) and AVI (PyAV: video frames).
Channels stay native: 1 for grayscale sources, 3 for colour; alpha is dropped. Every failure a user can fix
(missing, corrupt or truncated file, absurd or degenerate size, non-finite pixels) is a LatentgapError naming
the file. Sizes are checked from the header before any pixel is decoded. Nothing here writes to disk.
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path

import numpy as np

from latentgap.errors import LatentgapError

MAX_SIDE = 16384  # px a side; beyond it is a broken header or a whole-slide image, not a dataset image
MIN_SIDE = 2  # a 1-px side carries no spatial signal to resize
WINDOWS = {"lung": (-1000.0, 400.0), "mediastinal": (-160.0, 240.0)}  # HU (lo, hi) mapped to [0, 1]
DEFAULT_CT_WINDOW = "lung"
# a window: a name in WINDOWS, "minmax" (per image), an explicit (lo, hi), or None (the source's own default)
Window = str | tuple[float, float] | None
SUFFIXES = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".avi": "video",
}
RESIZE_METHOD = "bilinear with antialiasing (torch), whole image to R x R, aspect ratio not kept"


def file_kind(path: Path) -> str | None:
    """'png' | 'jpeg' | 'dicom' | 'nifti' | 'video' from the file name, or None if unsupported."""
    name = Path(path).name.lower()
    return next((kind for suffix, kind in SUFFIXES.items() if name.endswith(suffix)), None)


def _unreadable(path: Path, reason: str) -> LatentgapError:
    return LatentgapError(f"cannot read {path}: {reason}; re-export the file or remove it from the dataset")


def _check_size(path: Path, width: int, height: int) -> None:
    if max(width, height) > MAX_SIDE:
        raise _unreadable(path, f"absurd size {width}x{height} px (more than {MAX_SIDE} px a side)")
    if min(width, height) < MIN_SIDE:
        raise _unreadable(path, f"degenerate size {width}x{height} px (less than {MIN_SIDE} px a side)")


def check_finite(path: Path, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise _unreadable(path, f"{int((~np.isfinite(x)).sum())} non-finite pixels (NaN or inf)")


def window_range(window: Window, default: Window) -> tuple[float, float] | None:
    """(lo, hi) of a window, or None for per-image min-max; `default` stands in for None."""
    window = default if window is None else window
    if window is None or window == "minmax":
        return None
    if isinstance(window, str):
        if window not in WINDOWS:
            raise LatentgapError(f"unknown window {window!r}; use one of {', '.join(WINDOWS)}, minmax or (lo, hi)")
        return WINDOWS[window]
    lo, hi = (float(v) for v in window)
    if not hi > lo:
        raise LatentgapError(f"window ({lo}, {hi}) is empty; give (lo, hi) with hi > lo")
    return lo, hi


def _apply_window(x: np.ndarray, lo_hi: tuple[float, float] | None) -> np.ndarray:
    """Linear map of (lo, hi) (or the image's own min..max) to [0, 1], clipped; a constant image maps to 0."""
    lo, hi = lo_hi if lo_hi is not None else (float(x.min()), float(x.max()))
    if hi <= lo:
        return np.zeros_like(x, dtype=np.float32)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


# --- PNG / JPEG ---


def _pil_array(im) -> np.ndarray:
    """Pillow image -> (C, H, W) float32 in [0, 1]; palette, 1-bit, 16-bit and alpha modes handled."""
    mode = im.mode
    if mode in ("P", "PA"):
        palette = np.asarray(im.getpalette() or [0, 0, 0], dtype=np.int64).reshape(-1, 3)
        gray = bool((palette == palette[:, :1]).all())  # a gray palette is a grayscale image
        im, mode = im.convert("L" if gray else "RGB"), "L" if gray else "RGB"
    if mode in ("1", "L", "LA", "La"):
        x = np.asarray(im.convert("L"), dtype=np.float32)[None] / 255.0
    elif mode in ("RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        x = np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
    elif mode.startswith("I;16") or mode == "I":  # 16-bit grayscale PNG opens as I;16 (or I in older Pillow)
        raw = np.asarray(im)
        if raw.min() < 0 or raw.max() > 65535:
            raise ValueError(f"{mode} pixels outside the 16-bit range")
        x = raw.astype(np.float32)[None] / 65535.0
    else:
        raise ValueError(f"unsupported pixel mode {mode}; convert it to 8/16-bit grayscale or RGB")
    return x


def _decode_pil(path: Path) -> np.ndarray:
    from PIL import Image

    # Pillow only warns between MAX_IMAGE_PIXELS and twice that: turn its decompression-bomb guard into an error
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                _check_size(path, im.width, im.height)
                im.load()  # decode now, so a truncated file fails here (LOAD_TRUNCATED_IMAGES stays False)
                return _pil_array(im)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
            raise _unreadable(path, f"too many pixels ({e})") from e
        except (OSError, SyntaxError, ValueError) as e:
            raise _unreadable(path, str(e) or type(e).__name__) from e


# --- DICOM ---


def _decode_dicom(path: Path, window: Window) -> np.ndarray:
    """Modality LUT (rescale slope/intercept), then `window` or the file's VOI window or min-max; MONOCHROME1 inverted."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError) as e:
        raise _unreadable(path, f"not a valid DICOM file ({e})") from e
    if "PixelData" not in ds:
        raise _unreadable(path, "DICOM file without pixel data")
    _check_size(path, int(ds.get("Columns", 0)), int(ds.get("Rows", 0)))
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        raise _unreadable(path, f"multi-frame DICOM ({ds.NumberOfFrames} frames); export single frames")
    try:
        raw = ds.pixel_array
    except (ValueError, RuntimeError, NotImplementedError, AttributeError, TypeError, KeyError) as e:
        hint = "" if isinstance(e, ValueError) else "; a compressed transfer syntax may need pylibjpeg"
        raise _unreadable(path, f"cannot decode DICOM pixels ({e}){hint}") from e
    if raw.ndim == 3:  # colour (RGB, or YBR converted to RGB by pydicom)
        x = raw.astype(np.float32).transpose(2, 0, 1) / float(2 ** int(ds.get("BitsStored", 8)) - 1)
        check_finite(path, x)
        return np.clip(x, 0.0, 1.0)
    x = raw.astype(np.float32) * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
    check_finite(path, x)
    x = _apply_window(x, window_range(window, _dicom_voi_window(ds)))[None]
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":  # 0 is white in MONOCHROME1
        x = 1.0 - x
    return x


def _dicom_voi_window(ds) -> tuple[float, float] | None:
    """The file's own (first) WindowCenter/WindowWidth as (lo, hi), or None (then min-max)."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c, w = (float(np.ravel(np.asarray(v, dtype=np.float64))[0]) for v in (center, width))  # may be multi-valued
    except (ValueError, TypeError, IndexError):  # empty or malformed tags: fall back to min-max
        return None
    return (c - w / 2, c + w / 2) if w > 0 else None


# --- NIfTI ---


def _open_nifti(path: Path):
    """(raw array, slope, intercept, axial axis or None for 2D, axis codes) with the size checked first."""
    import nibabel as nib

    try:
        img = nib.load(path)
        shape = img.shape
        if len(shape) == 4 and shape[3] == 1:
            shape = shape[:3]
        if len(shape) not in (2, 3):
            raise _unreadable(path, f"NIfTI with shape {img.shape}; expected a 2D slice or a 3D volume")
        codes = tuple(c or "?" for c in nib.aff2axcodes(img.affine))  # "?" where the affine is degenerate
        axial = next((i for i, c in enumerate(codes) if c in "SI"), 2) if len(shape) == 3 else None
        plane = [s for i, s in enumerate(shape) if i != axial]
        _check_size(path, plane[1], plane[0])
        proxy = img.dataobj
        # unscaled native dtype (e.g. int16) for one pass over a gzip; scaling is applied per slice below
        raw = np.asarray(proxy.get_unscaled() if hasattr(proxy, "get_unscaled") else proxy).reshape(shape)
        slope, inter = float(getattr(proxy, "slope", 1.0)), float(getattr(proxy, "inter", 0.0))
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as e:
        raise _unreadable(path, f"not a valid NIfTI file ({e})") from e
    return raw, slope, inter, axial, codes


def _orient_axial(sl: np.ndarray, codes: tuple[str, str]) -> np.ndarray:
    """(a, b) slice -> rows anterior (top) to posterior, columns patient right (left) to patient left."""
    if codes[0] in "LR":
        sl, codes = sl.T, (codes[1], codes[0])
    if codes[0] == "A":
        sl = sl[::-1]
    if codes[1] == "R":
        sl = sl[:, ::-1]
    return np.ascontiguousarray(sl)


def axial_indices(depth: int, n: int, spread: float = 0.4) -> np.ndarray:
    """`n` evenly spaced slice indices over the central `spread` of `depth` slices (n=1: the middle one)."""
    centres = 0.5 + (np.arange(n) + 0.5 - n / 2) / n * spread
    return np.unique(np.clip(np.floor(centres * depth), 0, depth - 1).astype(int))


def decode_volume_slices(
    path: Path, n_slices: int = 4, window: Window = None, indices: list[int] | None = None
) -> list[np.ndarray]:
    """Axial slices of a NIfTI volume, each (1, H, W) float32 in [0, 1] after the HU `window` (default lung).

    `indices` picks slices by index (a 2D file has the one slice 0); else `n_slices` evenly spaced central ones.
    """
    path = Path(path)
    if not path.is_file():
        raise _unreadable(path, "file not found")
    raw, slope, inter, axial, codes = _open_nifti(path)
    depth = 1 if axial is None else raw.shape[axial]
    picks = axial_indices(depth, n_slices) if indices is None else np.asarray(indices)
    if ((picks < 0) | (picks >= depth)).any():
        raise LatentgapError(f"slice index {picks.tolist()} out of range for {path} ({depth} axial slices)")
    lo_hi = window_range(window, DEFAULT_CT_WINDOW)
    out = []
    for k in picks:
        sl = raw if axial is None else np.take(raw, int(k), axis=axial)
        x = sl.astype(np.float32) * slope + inter
        check_finite(path, x)
        plane = tuple(c for i, c in enumerate(codes) if i != axial)[:2]
        out.append(_apply_window(_orient_axial(x, plane), lo_hi)[None])
    return out


# --- video ---


def frame_indices(total: int, n: int) -> np.ndarray:
    """`n` evenly spaced frame indices over a whole clip of `total` frames (n=1: the middle one)."""
    return np.unique(np.floor((np.arange(n) + 0.5) / n * total).astype(int).clip(0, total - 1))


def decode_video_frames(path: Path, n_frames: int = 4) -> list[np.ndarray]:
    """`n_frames` evenly spaced frames of a video, each (C, H, W) float32 in [0, 1]; C = 1 for gray streams."""
    import av

    path = Path(path)
    if not path.is_file():
        raise _unreadable(path, "file not found")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise _unreadable(path, "no video stream")
            stream = container.streams.video[0]
            _check_size(path, stream.codec_context.width, stream.codec_context.height)
            gray = str(stream.codec_context.pix_fmt or "").startswith("gray")
            frames = [f.to_ndarray(format="gray" if gray else "rgb24") for f in container.decode(stream)]
    except (av.FFmpegError, OSError, ValueError) as e:
        raise _unreadable(path, f"cannot decode video ({e})") from e
    if not frames:
        raise _unreadable(path, "no decodable frames")
    picks = [frames[i].astype(np.float32) / 255.0 for i in frame_indices(len(frames), n_frames)]
    return [f[None] if f.ndim == 2 else f.transpose(2, 0, 1) for f in picks]


# --- one image ---


def decode_image(path: Path, window: Window = None, slice_index: int | None = None) -> np.ndarray:
    """One image file at native size -> (C, H, W) float32 in [0, 1], C = 1 (grayscale) or 3 (colour).

    `window` applies to DICOM (default: the file's VOI window, else min-max) and NIfTI (default: lung HU window);
    a NIfTI volume gives its axial slice `slice_index` (default: the middle one).
    """
    path = Path(path)
    kind = file_kind(path)
    if kind is None or kind == "video":
        raise LatentgapError(f"unsupported image file {path}; use one of {', '.join(sorted(SUFFIXES))}")
    if not path.is_file():
        raise _unreadable(path, "file not found")
    if kind == "dicom":
        x = _decode_dicom(path, window)
    elif kind == "nifti":
        x = decode_volume_slices(path, 1, window, None if slice_index is None else [slice_index])[0]
    else:
        x = _decode_pil(path)
    check_finite(path, x)
    assert x.ndim == 3 and x.shape[0] in (1, 3) and x.dtype == np.float32, (x.shape, x.dtype)
    return x


def resize(image: np.ndarray, resolution: int) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (C, R, R) float32 in [0, 1]: the whole image, bilinear with antialiasing."""
    import torch
    import torch.nn.functional as F

    if image.shape[1:] == (resolution, resolution):
        return image.astype(np.float32, copy=True)
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    out = F.interpolate(t, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
    return out[0].clamp_(0.0, 1.0).numpy()


def read_image(path: Path, resolution: int, window: Window = None, slice_index: int | None = None) -> np.ndarray:
    """One image file -> (C, R, R) float32 in [0, 1] (see `decode_image` and `resize`)."""
    return resize(decode_image(path, window, slice_index), resolution)
