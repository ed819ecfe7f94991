"""The dashboard through its API, as `gradio_client` users call it."""

from pathlib import Path

import pytest
from gradio_client import Client

from latentgap.store import Store
from tests.test_store import _metrics, _run


def test_gap_table_endpoint_serves_stored_runs(serve, tmp_path):
    Store(tmp_path).write_run(_run("run-a"), {"metrics": _metrics("run-a")})
    client = Client(serve(tmp_path), verbose=False)
    table, plot, tests, headline = client.predict("balanced_accuracy", [], [], [], api_name="/gap_table")
    row = dict(zip(table["headers"], table["data"][0]))
    assert row["run_id"] == "run-a" and row["paper_gap"] == 0.18 and row["latent"] == 0.6 and row["synthetic"] is True
    assert table["headers"][2:4] == ["matched_gap", "matched_gap_ci_low"] and "gap" not in table["headers"]
    assert "paper gap +0.180" in plot["plot"]  # the bar chart annotates the paper gap
    assert "1 AE x dataset units from 1 seed x fold replicates" in tests and "**published**: 9.5e-07" in tests
    assert "Not comparable with the published p" in tests
    assert "run `run-a`" in headline and "**SYNTHETIC data**" in headline
    assert "--ae zoo:null-s2d --dataset phantom-chest --profile quick" in headline  # no control stored yet
    table, _, tests, headline = client.predict("balanced_accuracy", [], ["phantom-derm"], [], api_name="/gap_table")
    assert "no runs match" in tests and "no runs to show" in headline  # the dataset filter removed the only run


def test_the_headline_reads_the_shown_run_against_a_control_the_filters_hide(serve, tmp_path):
    """Through the app: the matched gap with its interval, the null control's beside it, the excess gap, and the
    arm that did not converge, while the family filter hides the control's own row."""
    from latentgap.records import arm_quantity

    store = Store(tmp_path)
    control = {**_run("ctl-run"), "autoencoder": "zoo:null-s2d", "family": "null"}
    matched = lambda run_id, v: dict(
        run_id=run_id,
        **arm_quantity("matched_gap"),
        metric="balanced_accuracy",
        value=v,
        ci_low=v - 0.03,
        ci_high=v + 0.03,
        fold=0,
    )
    store.write_run(control, {"metrics": _metrics("ctl-run") + [matched("ctl-run", 0.01)]})
    training = [
        dict(
            run_id="ae-run",
            arm=arm,
            seed=0,
            fold=0,
            epochs_run=30,
            best_epoch=29,
            converged=arm != "latent",
            history="{}",
        )
        for arm in ("image", "latent", "reconstruction-s2d")
    ]
    store.write_run(_run("ae-run"), {"metrics": _metrics("ae-run") + [matched("ae-run", 0.11)], "training": training})
    client = Client(serve(tmp_path), verbose=False)
    table, _, _, headline = client.predict("balanced_accuracy", ["sd-vae"], [], [], api_name="/gap_table")
    rows = [dict(zip(table["headers"], r)) for r in table["data"]]
    assert [r["run_id"] for r in rows] == ["ae-run"] and rows[0]["excess_gap"] == 0.1 and rows[0]["converged"] is False
    assert "**Matched gap** (reconstruction-s2d − latent, same network): **+0.110 [+0.080, +0.140]**" in headline
    assert "(run `ctl-run`): matched gap +0.010 [-0.020, +0.040]" in headline
    assert "**excess gap +0.100 [+0.040, +0.160]**" in headline
    assert "**Not converged**: latent (1 of 1 replicates)" in headline


def test_empty_store_shows_a_hint(serve, tmp_path):
    client = Client(serve(tmp_path), verbose=False)
    table, plot, _, headline = client.predict("auroc", [], [], [], api_name="/gap_table")
    assert table["data"] == [] or table["data"] == [[""] * len(table["headers"])]
    assert "no results yet" in plot["plot"] and "no runs to show" in headline


def test_the_overview_shows_the_newest_measured_profile_and_never_tests_smoke_runs(tmp_path):
    import time

    from latentgap.ui.overview import gap_view

    store = Store(tmp_path)
    for run_id, profile in (("quick-run", "quick"), ("smoke-run", "smoke")):  # the smoke run is the newest
        store.write_run({**_run(run_id), "profile": profile}, {"metrics": _metrics(run_id)})
        time.sleep(0.01)
    table, _, tests, _ = gap_view(tmp_path, "balanced_accuracy")
    assert list(table.run_id) == ["quick-run"] and "(quick profile" in tests and "smoke" not in tests
    table, _, tests, _ = gap_view(tmp_path, "balanced_accuracy", profile=["smoke"])  # asked for: shown, not tested
    assert list(table.run_id) == ["smoke-run"] and "not a measurement: no test" in tests


def test_report_endpoint_hands_out_the_runs_html_report(serve, tmp_path):
    """Choosing runs in the Overview writes their report under <home>/reports and offers it for download."""
    from tests.test_store import _v4_store

    home = _v4_store(tmp_path)
    run_id = Store(home).runs().run_id.iloc[0]
    client = Client(serve(home), verbose=False)
    downloaded, note = client.predict([run_id], api_name="/report")
    assert note.startswith(f"ready: {run_id}.html (")
    page = Path(downloaded).read_text()
    assert page.startswith("<!DOCTYPE html>") and f"run {run_id}" in page and "SYNTHETIC data" in page
    assert (home / "reports" / f"{run_id}.html").read_text() == page
    with pytest.raises(Exception, match="no run 'nope' in the store"):
        client.predict(["nope"], api_name="/report")


def test_the_table_sends_the_newest_rows_and_says_how_many_it_left_out(tmp_path):
    import pandas as pd

    from latentgap.ui.overview import TABLE_ROWS, rows_note, shown_rows

    many = pd.DataFrame({"run_id": [f"r{i}" for i in range(TABLE_ROWS + 7)]})  # newest first, as gap_view sorts
    table, plot, tests = shown_rows((many, "figure", "tests"))
    assert table.run_id.tolist() == many.run_id.tolist()[:TABLE_ROWS] and (plot, tests) == ("figure", "tests")
    assert rows_note(len(many)).startswith(f"Showing the newest {TABLE_ROWS} of {TABLE_ROWS + 7} runs; the **Export**")
    assert len(shown_rows((many.head(3), None, None))[0]) == 3 and rows_note(3) == ""
