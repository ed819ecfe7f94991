"""readers.py on tiny fabricated files of every format: exact values at native size, resize, and every bad input.

The write_* helpers are reused by test_formats.py.
"""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from latentgap.datasets import readers
from latentgap.errors import LatentgapError

# --- fabricators ---


def write_png(path, arr: np.ndarray):
    Image.fromarray(arr).save(path)
    return path


def write_dicom(
    path, arr: np.ndarray, photometric="MONOCHROME2", slope=None, intercept=None, center=None, width=None, signed=False
):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.set_pixel_data(arr, photometric_interpretation=photometric, bits_stored=arr.dtype.itemsize * 8)
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    if center is not None:
        ds.WindowCenter, ds.WindowWidth = center, width
    ds.save_as(path, enforce_file_format=True)
    return path


def write_nifti(path, vol: np.ndarray, affine=None):
    import nibabel as nib

    nib.save(nib.Nifti1Image(vol, np.eye(4) if affine is None else affine), str(path))
    return path


def write_avi(path, levels, size=(24, 32)):
    """A tiny MJPEG AVI whose frame t is uniformly gray at levels[t] (0..255)."""
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mjpeg", rate=10)
        s.height, s.width, s.pix_fmt = size[0], size[1], "yuvj420p"
        for v in levels:
            frame = av.VideoFrame.from_ndarray(np.full((*size, 3), v, np.uint8), format="rgb24")
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


def png_with_size(path, width: int, height: int):
    """A valid 8x8 PNG whose IHDR claims width x height (CRC fixed), to test size checks before decoding."""
    write_png(path, np.zeros((8, 8), np.uint8))
    b = bytearray(path.read_bytes())
    b[16:24] = struct.pack(">II", width, height)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    path.write_bytes(bytes(b))
    return path


RAMP = (np.arange(12 * 10).reshape(12, 10) * 2).astype(np.uint8)  # (H=12, W=10), 0..238


# --- PNG / JPEG ---


def test_png_8bit_gray_exact(tmp_path):
    x = readers.decode_image(write_png(tmp_path / "a.png", RAMP))
    assert x.shape == (1, 12, 10) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], RAMP / 255.0, atol=1e-7)


def test_png_16bit_uses_full_range(tmp_path):
    arr = (np.arange(6 * 5).reshape(6, 5) * 2000).astype(np.uint16)
    x = readers.decode_image(write_png(tmp_path / "a.png", arr))
    assert x.shape == (1, 6, 5)
    np.testing.assert_allclose(x[0], arr / 65535.0, atol=1e-6)
    assert x.max() > 0.88  # 58000 / 65535, not clipped to 1 as an 8-bit reading would


def test_palette_gray_is_one_channel_colour_is_three(tmp_path):
    gray = Image.fromarray(RAMP).convert("P")  # gray values into a gray palette
    gray.putpalette([v for i in range(256) for v in (i, i, i)])
    gray.save(tmp_path / "g.png")
    assert readers.decode_image(tmp_path / "g.png").shape == (1, 12, 10)
    colour = Image.new("P", (4, 3))
    colour.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    colour.putpixel((1, 1), 1)
    colour.save(tmp_path / "c.png")
    x = readers.decode_image(tmp_path / "c.png")
    assert x.shape == (3, 3, 4)
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 0.0] and x[:, 1, 1].tolist() == [0.0, 0.0, 1.0]


def test_alpha_is_dropped(tmp_path):
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 0  # fully transparent red: colour kept, alpha ignored
    x = readers.decode_image(write_png(tmp_path / "a.png", rgba))
    assert x.shape == (3, 5, 6)
    np.testing.assert_allclose(x[0], 200 / 255.0)
    assert x[1:].max() == 0
    la = Image.fromarray(RAMP).convert("LA")
    la.save(tmp_path / "la.png")
    np.testing.assert_allclose(readers.decode_image(tmp_path / "la.png")[0], RAMP / 255.0, atol=1e-7)


def test_jpeg_gray_and_rgb(tmp_path):
    Image.fromarray(np.full((16, 16), 128, np.uint8)).save(tmp_path / "g.jpg", quality=95)
    Image.fromarray(np.full((16, 16, 3), (250, 10, 10), np.uint8)).save(tmp_path / "c.jpeg", quality=95)
    g, c = readers.decode_image(tmp_path / "g.jpg"), readers.decode_image(tmp_path / "c.jpeg")
    assert g.shape == (1, 16, 16) and c.shape == (3, 16, 16)
    assert abs(g.mean() - 128 / 255) < 0.01
    assert c[0].mean() > 0.9 and c[1].mean() < 0.1


# --- DICOM ---


def test_dicom_rescale_and_explicit_window(tmp_path):
    stored = np.array([[0, 500], [1000, 1500]], np.uint16).repeat(2, 0).repeat(2, 1)  # (4, 4)
    path = write_dicom(tmp_path / "a.dcm", stored, slope=2, intercept=-1024)  # HU: -1024, -24, 976, 1976
    x = readers.decode_image(path, window=(-1024, 1976))
    assert x.shape == (1, 4, 4)
    np.testing.assert_allclose(x[0, ::2, ::2], [[0, 1000 / 3000], [2000 / 3000, 1]], atol=1e-6)
    lung = readers.decode_image(path, window="lung")  # -1000..400 HU
    np.testing.assert_allclose(lung[0, ::2, ::2], [[0, 976 / 1400], [1, 1]], atol=1e-6)


def test_dicom_voi_window_default_then_minmax(tmp_path):
    stored = np.array([[0, 100], [200, 300]], np.uint16)
    x = readers.decode_image(write_dicom(tmp_path / "w.dcm", stored, center=[150, 0], width=[200, 10]))
    np.testing.assert_allclose(x[0], [[0, 0.25], [0.75, 1]], atol=1e-6)  # first VOI window: 50..250
    y = readers.decode_image(write_dicom(tmp_path / "m.dcm", stored))
    np.testing.assert_allclose(y[0], [[0, 1 / 3], [2 / 3, 1]], atol=1e-6)  # no window tags: min-max


def test_dicom_monochrome1_inverted_and_rgb(tmp_path):
    stored = np.array([[0, 100], [200, 300]], np.uint16)
    m2 = readers.decode_image(write_dicom(tmp_path / "m2.dcm", stored))
    m1 = readers.decode_image(write_dicom(tmp_path / "m1.dcm", stored, photometric="MONOCHROME1"))
    np.testing.assert_allclose(m1, 1.0 - m2, atol=1e-6)
    assert m1[0, 0, 0] == 1.0  # lowest stored value is white in MONOCHROME1
    rgb = np.zeros((3, 5, 3), np.uint8)
    rgb[..., 2] = 255
    x = readers.decode_image(write_dicom(tmp_path / "c.dcm", rgb, photometric="RGB"))
    assert x.shape == (3, 3, 5) and x[2].min() == 1.0 and x[:2].max() == 0.0


# --- NIfTI ---


def test_nifti_slices_window_and_orientation(tmp_path):
    vol = np.full((6, 8, 10), -1000.0, np.float32)  # RAS, x=6 (L->R), y=8 (P->A), z=10 (I->S)
    vol[..., 5] = -300.0  # middle slice: lung window -1000..400 maps -300 to 0.5
    vol[2, 7, :] = 400.0  # a marker at the most anterior row, x=2
    path = write_nifti(tmp_path / "v.nii.gz", vol)
    (mid,) = readers.decode_volume_slices(path, n_slices=1)
    assert mid.shape == (1, 8, 6)  # rows = anterior-posterior, columns = left-right
    assert mid[0, 1, 1] == pytest.approx(0.5)
    assert mid[0, 0, 6 - 1 - 2] == 1.0  # anterior up; x flipped so patient right is on the left
    many = readers.decode_volume_slices(path, n_slices=4)
    assert len(many) == 4 and readers.axial_indices(10, 4).tolist() == [3, 4, 5, 6]
    own = readers.decode_volume_slices(path, indices=[0], window=(-1000, -300))
    assert own[0][0, 1, 1] == 0.0 and readers.decode_image(path, window="minmax", slice_index=5)[0].max() == 1.0


def test_nifti_2d_slice_and_scaling(tmp_path):
    import nibabel as nib

    img = nib.Nifti1Image(np.array([[0, 10], [20, 30]], np.int16), np.eye(4))
    img.header.set_slope_inter(10.0, -1000.0)  # stored 0..30 -> -1000..-700 HU
    nib.save(img, str(tmp_path / "s.nii"))
    x = readers.decode_image(tmp_path / "s.nii", window=(-1000, -700))
    assert x.shape == (1, 2, 2)
    np.testing.assert_allclose(sorted(x.ravel()), [0, 1 / 3, 2 / 3, 1], atol=1e-6)


# --- video ---


def test_video_frames_evenly_spaced(tmp_path):
    path = write_avi(tmp_path / "v.avi", [0, 40, 80, 120, 160, 200, 240, 250])
    frames = readers.decode_video_frames(path, n_frames=4)  # frames 1, 3, 5, 7
    assert len(frames) == 4 and frames[0].shape == (3, 24, 32)
    np.testing.assert_allclose([f.mean() * 255 for f in frames], [40, 120, 200, 250], atol=4)
    assert readers.frame_indices(8, 1).tolist() == [4]


# --- resize ---


def test_resize_whole_image_antialiased():
    checker = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)[None]  # 1-px checkerboard
    small = readers.resize(checker, 8)
    assert small.shape == (1, 8, 8) and small.dtype == np.float32
    np.testing.assert_allclose(small, 0.5, atol=0.02)  # antialiased: no aliasing to 0/1 patterns
    wide = np.zeros((3, 10, 40), np.float32)
    wide[:, :, 20:] = 1.0
    r = readers.resize(wide, 16)
    assert r.shape == (3, 16, 16) and r[:, :, :7].max() == 0 and r[:, :, 9:].min() > 0.9999  # aspect not kept
    assert 0 <= r.min() and r.max() <= 1


def test_read_image_resizes(tmp_path):
    x = readers.read_image(write_png(tmp_path / "a.png", RAMP), 8)
    assert x.shape == (1, 8, 8) and 0 <= x.min() < 0.1 and 0.8 < x.max() <= 1


# --- bad inputs ---


def test_truncated_and_garbage_files(tmp_path):
    png = write_png(tmp_path / "a.png", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    (tmp_path / "t.png").write_bytes(png.read_bytes()[:300])
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "j.jpg")
    (tmp_path / "t.jpg").write_bytes((tmp_path / "j.jpg").read_bytes()[:400])
    (tmp_path / "g.png").write_bytes(b"not an image at all")
    dcm = write_dicom(tmp_path / "a.dcm", np.zeros((8, 8), np.uint16))
    (tmp_path / "t.dcm").write_bytes(dcm.read_bytes()[:-40])
    (tmp_path / "g.dcm").write_bytes(b"garbage")
    write_nifti(tmp_path / "v.nii.gz", np.zeros((4, 4, 4), np.float32))
    (tmp_path / "t.nii.gz").write_bytes((tmp_path / "v.nii.gz").read_bytes()[:60])
    for name in ("t.png", "t.jpg", "g.png", "t.dcm", "g.dcm", "t.nii.gz"):
        with pytest.raises(LatentgapError, match=rf"cannot read .*{name.replace('.', '[.]')}"):
            readers.decode_image(tmp_path / name)
    (tmp_path / "t.avi").write_bytes(b"RIFF....AVI garbage")
    with pytest.raises(LatentgapError, match="t.avi"):
        readers.decode_video_frames(tmp_path / "t.avi")


def test_sizes_checked(tmp_path, monkeypatch):
    with pytest.raises(LatentgapError, match=r"one[.]png: degenerate size 1x1"):
        readers.decode_image(write_png(tmp_path / "one.png", np.zeros((1, 1), np.uint8)))
    with pytest.raises(LatentgapError, match=r"huge[.]png: absurd size 20000x8"):
        readers.decode_image(png_with_size(tmp_path / "huge.png", 20000, 8))  # header only: never decoded
    import pydicom

    ds = pydicom.dcmread(write_dicom(tmp_path / "d.dcm", np.zeros((2, 2), np.uint8)))
    ds.Rows = 16385  # the header lies; the check must come before decoding the (4-byte) pixel data
    ds.save_as(tmp_path / "d.dcm")
    with pytest.raises(LatentgapError, match=r"d[.]dcm: absurd size 2x16385"):
        readers.decode_image(tmp_path / "d.dcm")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow only warns up to twice this: we raise
    with pytest.raises(LatentgapError, match=r"bomb[.]png: too many pixels"):
        readers.decode_image(write_png(tmp_path / "bomb.png", np.zeros((40, 40), np.uint8)))


def test_non_finite_and_unsupported(tmp_path):
    vol = np.zeros((4, 4, 4), np.float32)
    vol[1, 1, 2] = np.nan
    with pytest.raises(LatentgapError, match=r"nan[.]nii[.]gz: 1 non-finite pixels"):
        readers.decode_image(write_nifti(tmp_path / "nan.nii.gz", vol))
    with pytest.raises(LatentgapError, match=r"missing[.]png: file not found"):
        readers.decode_image(tmp_path / "missing.png")
    with pytest.raises(LatentgapError, match=r"unsupported image file .*x[.]tif"):
        readers.decode_image(tmp_path / "x.tif")
    with pytest.raises(LatentgapError, match="unknown window 'brain'"):
        readers.decode_image(write_dicom(tmp_path / "a.dcm", np.zeros((4, 4), np.uint16)), window="brain")
    frames = np.zeros((2, 4, 4), np.uint16)
    path = write_dicom(tmp_path / "mf.dcm", frames)
    with pytest.raises(LatentgapError, match=r"mf[.]dcm: multi-frame DICOM"):
        readers.decode_image(path)
