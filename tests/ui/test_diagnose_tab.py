"""The Diagnose tab through its API, as a `gradio_client` user: upload, detect, queue, follow, read the gap."""

import time

import pytest
from gradio_client import Client, handle_file
from safetensors.torch import save_file

from latentgap.ui.diagnose import SHOWN_JOB_COLUMNS
from tests.autoencoders.conftest import tiny_model, to_ldm_layout

pytestmark = pytest.mark.slow


def _wait_for_jobs(client, n, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        table = client.predict(api_name="/jobs")
        rows = [dict(zip(table["headers"], r)) for r in table["data"] if r and r[0]]
        if len(rows) >= n and all(r["status"] in ("done", "failed", "cancelled") for r in rows):
            return rows
        time.sleep(2)
    raise TimeoutError(f"jobs not finished: {rows}")


def test_upload_detect_diagnose_and_read_the_gap(serve, tmp_path):
    ckpt = tmp_path / "my vae (v2).safetensors"  # spaces and brackets in the name: stored under a hash
    sd = {f"first_stage_model.{k}": v.contiguous() for k, v in to_ldm_layout(tiny_model("sd-vae").state_dict()).items()}
    save_file(sd, str(ckpt))
    home = tmp_path / "home"
    client = Client(serve(home), verbose=False)
    info = client.predict(handle_file(str(ckpt)), "", "auto", api_name="/detect")
    assert info["family"] == "sd-vae" and info["layout"] == "ldm" and info["alternatives"] == ["sdxl-vae"]
    assert str(tmp_path) not in str(info)  # no server paths handed back

    message, _ = client.predict(
        handle_file(str(ckpt)), "", "auto", ["phantom-chest"], "smoke", 60, 0, api_name="/diagnose"
    )
    assert message.startswith("queued 1 job")
    [job] = _wait_for_jobs(client, 1)
    assert job["status"] == "done" and job["run_id"] and job["label"].startswith("upload:myvaev2.safetensors (sd-vae)")
    table, _, _ = client.predict("balanced_accuracy", [], [], [], api_name="/gap_table")
    rows = [dict(zip(table["headers"], r)) for r in table["data"]]
    assert [r["run_id"] for r in rows] == [job["run_id"]]
    assert [p.name for p in (home / "uploads").iterdir()] == [p.name for p in (home / "uploads").glob("*.safetensors")]


def test_bad_upload_is_refused_with_a_reason(serve, tmp_path):
    fake = tmp_path / "weights.safetensors"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    client = Client(serve(tmp_path / "home"), verbose=False)
    with pytest.raises(Exception, match="PNG image, not a checkpoint"):
        client.predict(handle_file(str(fake)), "", "auto", ["phantom-chest"], "smoke", 60, 0, api_name="/diagnose")
    assert client.predict(api_name="/jobs")["data"] in ([], [[""] * len(SHOWN_JOB_COLUMNS)])


def test_cancel_a_queued_job(serve, tmp_path):
    client = Client(serve(tmp_path / "home"), verbose=False)
    client.predict(
        None, "zoo:sd-vae-mini", "auto", ["phantom-chest", "phantom-ct"], "quick", None, 0, api_name="/diagnose"
    )
    table = client.predict(api_name="/jobs")
    last = [dict(zip(table["headers"], r)) for r in table["data"]][0]  # newest first: still queued
    message, table = client.predict(last["job_id"], api_name="/cancel")
    assert message.startswith("cancelled")
    for r in table["data"]:
        client.predict(r[0], api_name="/cancel")  # stop the other one too: the test does not wait for it
    statuses = {
        dict(zip(table["headers"], r))["job_id"]: dict(zip(table["headers"], r))["status"]
        for r in client.predict(api_name="/jobs")["data"]
    }
    assert set(statuses.values()) == {"cancelled"}
