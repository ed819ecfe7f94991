"""The Diagnose tab through its API, as a `gradio_client` user: upload, detect, queue, follow, read the gap."""

import time

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
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
    table, _, _, headline = client.predict("balanced_accuracy", [], [], [], api_name="/gap_table")
    rows = [dict(zip(table["headers"], r)) for r in table["data"]]
    assert [r["run_id"] for r in rows] == [job["run_id"]] and f"run `{job['run_id']}`" in headline
    assert [p.name for p in (home / "uploads").iterdir()] == [p.name for p in (home / "uploads").glob("*.safetensors")]


def test_bad_upload_is_refused_with_a_reason(serve, tmp_path):
    fake = tmp_path / "weights.safetensors"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    client = Client(serve(tmp_path / "home"), verbose=False)
    with pytest.raises(Exception, match="PNG image, not a checkpoint"):
        client.predict(handle_file(str(fake)), "", "auto", ["phantom-chest"], "smoke", 60, 0, api_name="/diagnose")
    assert client.predict(api_name="/jobs")["data"] in ([], [[""] * len(SHOWN_JOB_COLUMNS)])


def test_a_file_that_is_no_checkpoint_is_refused_by_its_own_name_and_not_kept(serve, tmp_path):
    """Uploads are stored under a content hash, but a refusal names the user's file and says what it is; only
    accepted uploads stay in uploads/ (a refused check of an accepted one keeps it: jobs may use it)."""
    good = tmp_path / "vae.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_model("sd-vae").state_dict().items()}, str(good))
    home = tmp_path / "home"
    client = Client(serve(home), verbose=False)
    assert client.predict(handle_file(str(good)), "", "auto", api_name="/detect")["family"] == "sd-vae"
    kept = sorted(p.name for p in (home / "uploads").iterdir())
    notes = b"Notes on the VAE run\nlr 1e-4, 40 epochs; the weights are elsewhere\n"
    for name, says in [
        ("notes.safetensors", r"notes.safetensors is not a safetensors file: its header is unreadable .*save_file"),
        ("notes.pt", r"notes.pt is not a PyTorch checkpoint at all \(it is a text file"),
    ]:
        (tmp_path / name).write_bytes(notes)
        with pytest.raises(AppError, match=says) as refused:
            client.predict(handle_file(str(tmp_path / name)), "", "auto", api_name="/detect")
        assert "download it again" not in str(refused.value) and ".part" not in str(refused.value)
    with pytest.raises(AppError, match="does not match a dc-ae autoencoder"):
        client.predict(handle_file(str(good)), "", "dc-ae", api_name="/detect")
    with pytest.raises(AppError, match=r"no/such/vae.safetensors does not exist .*zoo list"):
        client.predict(None, "./no/such/vae.safetensors", "auto", api_name="/detect")
    assert len(kept) == 1 and sorted(p.name for p in (home / "uploads").iterdir()) == kept


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


def test_the_form_queues_replicate_seeds(tmp_path):
    from latentgap.jobs import spec_from_dict
    from latentgap.store import Store
    from latentgap.ui.diagnose import submit

    submit(tmp_path, None, "zoo:sd-vae-mini", "auto", ["phantom-chest"], "smoke", 60, 0, " 0,1 ")
    submit(tmp_path, None, "zoo:sd-vae-mini", "auto", ["phantom-chest"], "smoke", 60, 3)  # empty: the seed alone
    first, second = (spec_from_dict(Store(tmp_path).claim_job(1)[1]) for _ in range(2))
    assert first.replicate_seeds() == (0, 1) and second.replicate_seeds() == (3,)
