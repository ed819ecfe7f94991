"""Latent explorer, Reconstructions and Compare tabs on a store holding two constructed runs of two autoencoders."""

import numpy as np
import pandas as pd
import pytest

from latentgap.gallery import save_gallery
from latentgap.store import Store
from latentgap.ui.compare import compare_view, matching_runs
from latentgap.ui.explorer import SHOW, explorer_view, sample_table, sample_view
from latentgap.ui.reconstructions import reconstructions_view, runs_note
from tests.test_store import _metrics, _run

NAMES = ["normal", "rare"]
N = 12  # samples 0-7 train, 8-11 test


def _projections(run_id, latent_pred, image_pred):
    rows = []
    for space, pred in (("latent", latent_pred), ("image", image_pred)):
        for i in range(N):
            rows.append(
                dict(
                    run_id=run_id,
                    fold=0,
                    space=space,
                    sample_index=i,
                    x=float(i),
                    y=float(i % 2),
                    label=i % 2,
                    split="test" if i >= 8 else "train",
                    predicted=pred[i - 8] if i >= 8 else None,
                )
            )
    return rows


@pytest.fixture
def home(tmp_path):
    store = Store(tmp_path)
    rng = np.random.default_rng(0)
    images = rng.random((N, 1, 16, 16))
    for run_id, ae, noise in (("run-a", "zoo:a", 0.05), ("run-b", "zoo:b", 0.3)):
        run = {**_run(run_id), "autoencoder": ae, "summary": {"class_names": NAMES}}
        # test samples 8..11 have labels 0,1,0,1; latent gets 9 and 10 wrong, image gets 10 wrong
        store.write_run(
            run, {"metrics": _metrics(run_id), "projections": _projections(run_id, [0, 0, 1, 1], [0, 1, 1, 1])}
        )
        recons = np.clip(images + rng.normal(0, noise, images.shape), 0, 1)
        save_gallery(
            tmp_path,
            run_id,
            np.arange(8, N),
            images,
            recons,
            np.arange(N) % 2,
            np.full(N, 30 - 50 * noise),
            np.full(N, 0.9),
        )
    return tmp_path


def test_explorer_panels_and_sample_filters(home):
    fig = explorer_view(home, "run-a", "correct")
    assert [a.text for a in fig.layout.annotations][:2] == [
        "latents (normalised)",
        "image-space features (pooled pixels)",
    ]
    groups = {t.name for t in fig.data}
    assert groups == {"correct", "wrong", "not in test split"}
    wrong_latent = next(t for t in fig.data if t.name == "wrong" and t.xaxis == "x")
    assert sorted(t.split("<br>")[0] for t in wrong_latent.text) == ["sample 10", "sample 9"]
    assert wrong_latent.text[0] == "sample 9<br>class rare<br>test split<br>predicted normal"
    assert len(explorer_view(home, "run-a", "class").data) == 4  # 2 classes x 2 panels
    loses = sample_table(home, "run-a", list(SHOW)[1])
    assert loses["sample"].tolist() == [9] and loses["latent predicted"].tolist() == ["normal"]
    assert sample_table(home, "run-a", "both wrong")["sample"].tolist() == [10]


def test_sample_view_shows_thumbnail_and_reconstruction(home):
    image, recon, caption = sample_view(home, "run-a", 9)
    assert image.shape == (64, 64, 3) and recon.shape == (64, 64, 3)  # shown 4x and "PSNR 27.5 dB" in caption
    with pytest.raises(Exception, match="has no thumbnail"):
        sample_view(home, "run-a", 2)  # a training sample outside the gallery


def test_reconstruction_grid_puts_two_autoencoders_side_by_side(home):
    fig = reconstructions_view(home, "run-a", "run-b", per_class=2)
    assert len(fig.data) == 4 * (1 + 2 * 2)  # 4 rows (2 per class) x original + (recon, diff) per AE
    titles = [a.text for a in fig.layout.annotations]
    assert "<b>zoo:a (run-a) reconstruction</b><br>27.5 dB / 0.90" in titles
    assert "<b>zoo:b (run-b) reconstruction</b><br>15.0 dB / 0.90" in titles
    assert "<b>original</b><br>normal #8" in titles and "rare #9" in titles
    assert "no reconstructions" in reconstructions_view(home, None, None, 1).layout.annotations[0].text


def test_compare_picks_the_newest_matching_run_per_autoencoder(home):
    runs = pd.DataFrame(
        dict(
            run_id=["old", "new", "b"],
            autoencoder=["a", "a", "b"],
            dataset="d",
            profile="quick",
            seed=0,
            created_at=pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-15"]),
        )
    )
    assert matching_runs(runs, ["b", "a", "c"], "d", "quick", 0).run_id.tolist() == ["b", "new"]
    bars, curves, umaps, recon, table, note = compare_view(
        home, ["zoo:a", "zoo:b", "zoo:c"], "phantom-chest", "quick", 0, "balanced_accuracy"
    )
    assert note.startswith("2 runs compared") and "zoo:c" in note
    assert [a.text for a in umaps.layout.annotations][:2] == ["zoo:a", "zoo:b"]
    assert len(recon.data) == 2 * (1 + 2 * 2)  # one sample per class, two autoencoders
    assert len(bars.data) == 3 and list(bars.data[2].y) == [0.6, 0.6]  # latent bars of both runs


def test_compare_places_runs_of_any_profile_and_seed_side_by_side_with_a_note(home):
    run = {**_run("run-c"), "autoencoder": "zoo:c", "profile": "smoke", "seed": 1, "summary": {"class_names": NAMES}}
    Store(home).write_run(run, {"metrics": _metrics("run-c")})
    *_, note = compare_view(home, ["zoo:a", "zoo:c"], "phantom-chest", "any", "any", "balanced_accuracy")
    assert note.startswith("2 runs compared")
    assert "**profiles differ** (zoo:a: quick, zoo:c: smoke)" in note and "not like for like" in note
    assert "**seeds differ** (zoo:a: 0, zoo:c: 1)" in note
    *_, note = compare_view(home, ["zoo:a", "zoo:b"], "phantom-chest", "any", "any", "balanced_accuracy")
    assert note == "2 runs compared"  # same profile and seed: nothing to say
    *_, note = compare_view(home, ["zoo:a", "zoo:c"], "phantom-chest", "quick", "any", "balanced_accuracy")
    assert note == "1 runs compared; no phantom-chest / profile quick run for: zoo:c"  # a chosen profile filters


def test_reconstructions_say_where_two_runs_differ(home):
    assert runs_note(home, "run-a", "run-b") == "" and runs_note(home, "run-a", None) == ""
    run = {**_run("run-c"), "autoencoder": "zoo:c", "profile": "smoke", "summary": {"class_names": NAMES}}
    Store(home).write_run(run, {"metrics": _metrics("run-c")})
    note = runs_note(home, "run-a", "run-c")
    assert note.startswith("**profiles differ** (zoo:a (run-a): quick, zoo:c (run-c): smoke)")
    assert "reconstruction rows show only the test samples the runs share" in note
