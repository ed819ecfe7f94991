"""Run galleries: thumbnails written atomically, test samples first, grayscale reconstructions kept gray."""

import numpy as np

from latentgap.gallery import MAX_SIDE, choose_samples, load_gallery, save_gallery


def test_gallery_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images, recons = rng.random((20, 1, 96, 96)), rng.random((20, 3, 96, 96))  # gray in, RGB out (AE repeats gray)
    labels, psnr, ssim = np.arange(20) % 4, rng.random(20) * 30, rng.random(20)
    index = choose_samples(labels, test=np.array([3, 7, 11]), seed=0, limit=5)
    assert {3, 7, 11} <= set(index) and len(index) == 5 and list(index) == sorted(index)
    save_gallery(tmp_path, "run", index, images, recons, labels, psnr, ssim)
    g = load_gallery(tmp_path, "run")
    assert g["image"].shape == (5, 1, MAX_SIDE, MAX_SIDE) and g["image"].dtype == np.uint8
    assert g["reconstruction"].shape == (5, 1, MAX_SIDE, MAX_SIDE)  # shown gray, like the input
    assert np.array_equal(g["label"], labels[index]) and np.allclose(g["psnr"], psnr[index])
    assert not list((tmp_path / "gallery").glob(".*tmp"))  # no temporary file left behind
    assert load_gallery(tmp_path, "other") is None
