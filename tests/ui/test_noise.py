"""Noise curves tab: intervals as bands, the chance line, and the σ range the noise-trained arms saw."""

import pytest

from latentgap.store import Store
from latentgap.ui.noise import chance_level, noise_view, trained_sigma_range
from tests.test_store import _metrics, _run


def _spec(summary, settings=None):
    return {"summary": summary, "spec": {"profile_settings": settings or {}}}


def test_trained_sigma_range_from_the_run_or_its_profile():
    assert trained_sigma_range(_spec({"noise_training_sigma": [0.002, 1.6]})) == (0.002, 1.6)
    assert trained_sigma_range(_spec({"noise_training_sigma": None})) is None  # stored: no noise-trained arm
    older = _spec({"arms": ["image", "latent", "latent-film"]}, {"train_sigma_max": 2.0})
    assert trained_sigma_range(older) == (0.002, 2.0)  # before runs stored it: the profile's cap
    assert trained_sigma_range(_spec({"arms": ["image", "latent"]}, {"train_sigma_max": 2.0})) is None
    assert chance_level("balanced_accuracy", 4) == 0.25 and chance_level("auroc", 4) == 0.5


def test_noise_curves_draw_bands_chance_and_training_range(tmp_path):
    rows = _metrics("r")
    for sigma, v in ((0.1, 0.7), (1.0, 0.6), (10.0, 0.3)):
        ci = dict(ci_low=v - 0.1, ci_high=v + 0.1) if sigma < 10 else {}  # no interval stored at σ = 10
        rows.append(
            dict(
                run_id="r",
                arm="latent",
                quantity="score",
                metric="balanced_accuracy",
                value=v,
                fold=0,
                noise_level=sigma,
                **ci,
            )
        )
    summary = {"class_names": ["a", "b", "c", "d"], "n_classes": 4, "noise_training_sigma": [0.002, 1.6]}
    Store(tmp_path).write_run({**_run("r"), "summary": summary}, {"metrics": rows})
    fig = noise_view(tmp_path, "r", "balanced_accuracy")
    band, curve = fig.data[0], fig.data[1]
    assert band.fill == "toself" and list(band.x) == [0.1, 1.0, 1.0, 0.1]  # only where intervals were stored
    assert list(band.y) == pytest.approx([0.8, 0.7, 0.5, 0.6]) and curve.name == "latent" and len(curve.x) == 3
    lines = {s.type: s for s in fig.layout.shapes}
    assert lines["rect"].x0 == 0.002 and lines["rect"].x1 == 1.6  # the shaded σ range
    chance = [s for s in fig.layout.shapes if s.type == "line" and s.y0 == 0.25]
    assert chance and any("chance" in a.text for a in fig.layout.annotations)
    assert any("noise training σ 0.002–1.6" == a.text for a in fig.layout.annotations)


def test_learning_curves_plot_every_arm_and_the_gaps_against_training_images(learning_home):
    from latentgap.plots import NO_LEARNING_CURVE
    from latentgap.ui.noise import learning_view

    home, run_id, _ = learning_home
    fig = learning_view(home, run_id)
    curve = Store(home).learning_curve(run_id)
    arms = set(curve.arm.dropna())
    lines = {t.name: t for t in fig.data if t.mode == "lines+markers"}
    assert arms <= set(lines) and any(name.startswith("matched gap") for name in lines)
    n_train = sorted(curve[curve.fold.isna()].n_train.unique())
    assert len(n_train) == 2 and sorted(lines["latent"].x) == n_train  # x: the training images each point saw
    assert (
        lines["latent"].xaxis == "x" and lines["paper gap (reconstruction − latent)"].xaxis == "x2"
    )  # accuracy left, gaps right
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == len(arms) + 2  # an interval band for every arm and both gaps
    assert fig.layout.xaxis.type == "log" and "1 replicate;" in fig.layout.title.text
    note = learning_view(home, None).layout.annotations[0].text
    assert note == NO_LEARNING_CURVE and "--train-fractions 0.25,0.5,1" in note


def test_a_run_without_a_learning_curve_says_how_to_get_one(tmp_path):
    from latentgap.plots import NO_LEARNING_CURVE
    from latentgap.ui.noise import learning_view

    Store(tmp_path).write_run({**_run("r"), "summary": {"n_classes": 2}}, {"metrics": _metrics("r")})
    fig = learning_view(tmp_path, "r")
    assert [a.text for a in fig.layout.annotations] == [NO_LEARNING_CURVE] and not fig.data
