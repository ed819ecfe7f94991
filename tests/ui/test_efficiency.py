"""Efficiency tab: the bench's latent-vs-image comparisons as ratio bars beside the published 64x / 120x."""

import json

import pytest

from latentgap.ui.efficiency import THIS_MACHINE, efficiency_view, measure_this_machine


def _results(train_ratio, memory_ratio):
    comparison = dict(
        image="paper-image-resnet50-256px",
        latent="paper-latent-film-convnext-tiny-4x64x64",
        train_throughput_ratio=train_ratio,
        infer_throughput_ratio=train_ratio * 2,
        memory_ratio=memory_ratio,
        memory_measure="tensor_memory_train_mb",
        flop_ratio=50.0,
    )
    return dict(
        device="cpu",
        mode="quick",
        created="2026-11-25T14:00:00",
        machine=dict(cpu="Test CPU"),
        classifiers=dict(comparisons=[comparison], includes="Image side: PNG decoded."),
    )


def test_efficiency_view_reads_every_results_file(tmp_path):
    (tmp_path / "cpu-quick.json").write_text(json.dumps(_results(12.5, 30.0)))
    (tmp_path / "cuda-full.json").write_text(json.dumps(_results(70.0, 130.0)))
    fig, table, caption = efficiency_view(results_dir=tmp_path)
    assert table.results.tolist() == ["cpu-quick", "cuda-full"] and table.memory_ratio.tolist() == [30.0, 130.0]
    train = next(t for t in fig.data if t.name == "training throughput (latent / image)")
    assert list(train.y) == [12.5, 70.0] and list(train.text) == ["12x", "70x"]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.range[1] > 2.5  # the published 120x is in view
    lines = [a.text for a in fig.layout.annotations]
    assert "published 64x (throughput)" in lines and "published 120x (memory)" in lines
    assert "Test CPU" in caption and "Image side: PNG decoded." in caption and "**published**: 64" in caption


def test_no_results_says_how_to_get_them(tmp_path):
    fig, table, caption = efficiency_view(tmp_path / "home", results_dir=tmp_path)
    assert table.empty and "latentgap bench --quick" in fig.layout.annotations[0].text


def test_this_machine_sits_beside_the_project_reference(tmp_path):
    reference, home = tmp_path / "reference", tmp_path / "home"
    reference.mkdir()
    (reference / "cpu-quick.json").write_text(json.dumps(_results(12.5, 30.0)))
    (home / "bench").mkdir(parents=True)
    (home / "bench" / f"{THIS_MACHINE}.json").write_text(json.dumps(_results(20.0, 40.0)))
    fig, table, caption = efficiency_view(home, results_dir=reference)
    assert table.results.tolist() == ["cpu-quick", THIS_MACHINE]
    assert "`cpu-quick` (project reference)" in caption and f"`{THIS_MACHINE}` (this machine)" in caption
    assert "latent / image" in fig.data[0].name and "advantage of the latent classifier" in fig.layout.yaxis.title.text


@pytest.mark.slow
def test_measure_this_machine_runs_the_classifier_bench(tmp_path):
    status = measure_this_machine(tmp_path)
    assert status.startswith("measured this machine"), status
    fig, table, caption = efficiency_view(tmp_path, results_dir=tmp_path / "no-reference")
    assert THIS_MACHINE in table.results.tolist() and (table.train_throughput_ratio > 0).all()  # measured, finite
