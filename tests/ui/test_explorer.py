"""Latent explorer and Compare tabs on a store holding two constructed runs of two autoencoders: run-a stored
per-sample predictions, fidelity and thumbnails; run-b is an older run (projections and a 48 px gallery only)."""

import json

import numpy as np
import pandas as pd
import pytest

from latentgap.gallery import save_gallery
from latentgap.plots import OUTCOME_COLORS
from latentgap.store import Store
from latentgap.thumbnails import save_thumbnails
from latentgap.ui.compare import compare_view, matching_runs
from latentgap.ui.explorer import (
    PSNR,
    colour_choices,
    explorer_view,
    load_samples,
    parse_samples,
    point_colours,
    preset_samples,
    selection_view,
)
from latentgap.ui.reconstructions import runs_note
from tests.test_store import _metrics, _run

NAMES = ["normal", "rare"]
N = 12  # samples 0-7 train, 8-11 test (labels 0,1,0,1)
LATENT_PRED, IMAGE_PRED = [0, 0, 1, 1], [0, 1, 1, 1]  # latent gets 9 and 10 wrong, image gets 10 wrong


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
                    y=float(i % 2) + (space == "image"),
                    label=i % 2,
                    split="test" if i >= 8 else "train",
                    predicted=pred[i - 8] if i >= 8 else None,
                )
            )
    return rows


def _predictions(run_id):
    arms = {"image": IMAGE_PRED, "latent": LATENT_PRED, "reconstruction": [0, 1, 0, 1]}
    return [
        dict(run_id=run_id, fold=0, arm=arm, sample_index=8 + k, predicted=p, confidence=0.6 + 0.1 * k)
        for arm, preds in arms.items()
        for k, p in enumerate(preds)
    ]


@pytest.fixture
def home(tmp_path):
    store = Store(tmp_path)
    rng = np.random.default_rng(0)
    images = rng.random((N, 1, 16, 16))
    for run_id, ae, noise in (("run-a", "zoo:a", 0.05), ("run-b", "zoo:b", 0.3)):
        run = {**_run(run_id), "autoencoder": ae, "summary": {"class_names": NAMES}}
        tables = {"metrics": _metrics(run_id), "projections": _projections(run_id, LATENT_PRED, IMAGE_PRED)}
        recons = np.clip(images + rng.normal(0, noise, images.shape), 0, 1)
        psnr = 30 - 50 * noise + np.arange(N) / 10
        if run_id == "run-a":  # a current run: per-sample predictions, fidelity and thumbnails
            tables["predictions"] = _predictions(run_id)
            tables["sample_fidelity"] = [dict(run_id=run_id, sample_index=i, psnr=psnr[i], ssim=0.9) for i in range(N)]
            save_thumbnails(tmp_path, run_id, np.arange(2, N), images, recons, rng.normal(0, 0.5, (N, 4, 2, 2)))
        store.write_run(run, tables)
        save_gallery(tmp_path, run_id, np.arange(8, N), images, recons, np.arange(N) % 2, psnr, np.full(N, 0.9))
    return tmp_path


def _figure(payload):
    return json.loads(payload)["figure"]


def test_samples_join_projections_predictions_and_fidelity(home):
    s = load_samples(home, "run-a")
    assert s.arms == ["image", "reconstruction", "latent"] and list(s.panels)[0] == "latents (normalised)"
    t = s.table
    assert list(t.sample_index) == list(range(N)) and list(t["pred:latent"]) == [-1] * 8 + LATENT_PRED
    assert t.psnr.iloc[3] == pytest.approx(27.8) and t["conf:latent"].iloc[9] == pytest.approx(0.7)
    assert colour_choices(s) == [
        "class",
        "split",
        "correct: image",
        "correct: reconstruction",
        "correct: latent",
        PSNR,
        "confidence: latent",
    ]
    old = load_samples(home, "run-b")  # predictions from the projections, each panel's own classifier
    assert old.arms == ["image", "latent"] and colour_choices(old) == [
        "class",
        "split",
        "correct: image",
        "correct: latent",
    ]


def test_correct_wrong_colours_are_clear_and_test_points_on_top(home):
    fig = _figure(explorer_view(home, "run-a", "correct: latent"))
    traces = [(t["name"], t["xaxis"], t["marker"]["size"], t["marker"]["color"]) for t in fig["data"]]
    names = [name for name, *_ in traces]
    assert set(names) == {"not in test split", "correct", "wrong"}
    assert names.index("wrong") > names.index("not in test split")  # background drawn first, under the test split
    colors = {name: c for name, _, _, c in traces}
    assert colors["wrong"] == OUTCOME_COLORS["wrong"] == "#e4572e" and colors["correct"] != colors["wrong"]
    back = next(size for name, _, size, _ in traces if name == "not in test split")
    assert back < next(size for name, _, size, _ in traces if name == "wrong")  # smaller
    hidden = _figure(explorer_view(home, "run-a", "correct: latent", show_background=False))
    assert {t["name"] for t in hidden["data"]} == {"correct", "wrong"}
    assert sum(t["showlegend"] for t in fig["data"]) == 3  # one legend entry a group


def test_every_trace_carries_sample_positions_for_linked_selection(home):
    payload = json.loads(explorer_view(home, "run-a", "class"))
    decode = lambda a: np.frombuffer(__import__("base64").b64decode(a["bdata"]), np.dtype(a["dtype"]))
    meta = payload["meta"]
    index = decode(meta["sample_index"])
    per_panel = {}
    for t in payload["figure"]["data"]:
        per_panel.setdefault(t["xaxis"], []).extend(index[decode(t["customdata"])])
    assert [sorted(v) for v in per_panel.values()] == [list(range(N))] * 2  # both panels: every sample once
    assert decode(meta["predicted"]["latent"]).tolist() == [-1] * 8 + LATENT_PRED
    assert meta["thumbs"]["count"] == 10 and meta["thumbs"]["base"].startswith("gradio_api/file=")
    assert meta["thumbs"]["base"].endswith("/thumbnails/run-a/")
    assert json.loads(explorer_view(home, "run-b", "class"))["meta"]["thumbs"] is None  # an older run
    assert "choose a run" in explorer_view(home, None, "class")


def test_continuous_colourings_have_a_scale(home):
    psnr = point_colours(load_samples(home, "run-a"), PSNR)
    assert psnr.values[3] == pytest.approx(27.8) and psnr.groups is None
    conf = point_colours(load_samples(home, "run-a"), "confidence: latent")
    assert np.isnan(conf.values[:8]).all() and conf.value_range == (0.5, 1.0)
    fig = _figure(explorer_view(home, "run-a", PSNR))
    scaled = [t for t in fig["data"] if t["name"] == PSNR]
    assert sum(t["marker"].get("showscale", False) for t in scaled) == 1  # one colour bar for both panels
    with pytest.raises(Exception, match="cannot colour"):
        explorer_view(home, "run-b", PSNR)  # an older run has no per-sample PSNR


def test_selection_fills_gallery_and_table_with_exactly_those_samples(home):
    tiles, table, caption = selection_view(home, "run-a", "9, 10 3 9 99")
    assert table["sample"].tolist() == [9, 10, 3] and table["class"].tolist() == ["rare", "normal", "rare"]
    assert table["latent"].tolist() == ["normal ✗", "rare ✗", ""] and table["image"].tolist()[:2] == [
        "rare ✓",
        "rare ✗",
    ]
    assert table["latent confidence"].tolist()[:2] == pytest.approx([0.7, 0.8])
    assert [c for _, c in tiles][:4] == [
        "#9 rare (test)",
        "#9 reconstruction · 28.4 dB",
        "#9 |error| (0–0.2)",
        "#9 latent channels 0–3 (row by row)",
    ]
    assert sorted({int(c.split()[0][1:]) for _, c in tiles}) == [3, 9, 10]
    assert all(path.endswith(".webp") for path, _ in tiles)
    assert caption.startswith("**3 samples selected**") and "not in this run: 99" in caption
    assert selection_view(home, "run-a", "")[0] == []
    old_tiles, old_table, _ = selection_view(home, "run-b", "9")  # no thumbnails: the table only
    assert old_tiles == [] and old_table["sample"].tolist() == [9]


def test_presets_select_by_outcome(home):
    assert preset_samples(home, "run-a", "latent wrong, image right (what the latent loses)") == "9"
    assert preset_samples(home, "run-a", "both wrong") == "10"
    assert preset_samples(home, "run-a", "all test samples") == "8 9 10 11"
    assert parse_samples(" 3,17 3\n42") == [3, 17, 42]


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
