"""The CLI as a user drives it: real subprocesses, exit codes, stdout/stderr."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from latentgap.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
VERBS = [
    ["diagnose"],
    ["inspect"],
    ["results"],
    ["report"],
    ["zoo"],
    ["zoo", "list"],
    ["zoo", "build"],
    ["data"],
    ["data", "list"],
    ["worker"],
    ["serve"],
]


def cli(*args, home=None, timeout=600, env=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    if home:
        env["LATENTGAP_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "latentgap", *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_help_on_every_verb(verb):
    out = cli(*verb, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["diagnose", "--ae", "no-such-ae"], "unknown autoencoder 'no-such-ae'"),
        (["diagnose", "--dataset", "no-such-data"], "unknown dataset 'no-such-data'"),
        (["diagnose", "--max-samples", "3"], "too small"),
        (["diagnose", "--train-fractions", "0.25,0.5"], "--train-fractions 0.25,0.5: include 1"),
        (["diagnose", "--seeds", "0,0"], "--seeds '0,0': give distinct non-negative integers"),
        (["diagnose", "--seed", "1", "--seeds", "0,1"], "give --seed N (one replicate per fold) or --seeds LIST"),
        (["diagnose", "--arms", "latent-vit"], "--arms latent-vit: unknown latent-vit; choose from image, "),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, message, tmp_path):
    out = cli(*args, "--home", str(tmp_path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]


@pytest.mark.parametrize(
    "args,message", [(["nope"], "unknown zoo model 'nope'"), (["--jobs", "0"], "--jobs 0: give at least 1")]
)
def test_zoo_build_refuses_bad_arguments_before_training(args, message):
    out = cli("zoo", "build", *args)
    assert out.returncode == 2 and out.stderr.startswith("error:") and message in out.stderr
    assert "Traceback" not in out.stderr and "building" not in out.stderr


def test_bad_home_is_a_user_error(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    out = cli("results", "--home", str(not_a_folder))
    assert out.returncode == 2 and "is a file, not a folder" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_on_a_busy_port_is_a_user_error(how, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        args, env = (["--port", port], None) if how == "flag" else ([], {"LATENTGAP_PORT": port})
        out = cli("serve", *args, "--home", str(tmp_path), timeout=120, env=env)
    assert out.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in out.stderr
    assert "Traceback" not in out.stderr


def test_listings_are_json():
    zoo = json.loads(cli("zoo", "list", "--json").stdout)
    assert {m["ref"] for m in zoo} >= {"zoo:sd-vae-mini"} and all(m["family"] for m in zoo)
    data = {d["name"]: d for d in json.loads(cli("data", "list", "--json").stdout)}
    assert data["phantom-chest"]["synthetic"] and data["phantom-chest"]["available"]
    default = data["chest-xray-pneumonia"]  # the embedded real default: shipped, so always available
    assert not default["synthetic"] and default["available"] and default["embedded"] and default["licence"]
    real = [d for d in data.values() if not d["synthetic"]]
    assert {d["name"] for d in real} >= {"chest-xray-pneumonia-full", "ham10000", "covid-ct"}
    assert all(d["doi"] and d["upstream"] for d in real)  # where to get a set that is not here


def test_a_real_set_is_found_by_name_under_the_data_root_or_says_where_to_get_it(tmp_path):
    empty = json.loads(cli("data", "list", "--json", "--data-root", str(tmp_path)).stdout)  # nothing there
    assert not any(d["available"] for d in empty if not d["synthetic"] and not d.get("embedded"))
    out = cli(
        "diagnose",
        "--dataset",
        "covid-ct",
        "--data-root",
        str(tmp_path),
        "--home",
        str(tmp_path / "ws"),
        env={"LATENTGAP_DATA": ""},
    )
    assert out.returncode == 2 and "doi:10.1101/2020.04.24.20078584" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "covid-ct").mkdir()
    listed = json.loads(cli("data", "list", "--json", "--data-root", str(tmp_path)).stdout)
    assert {d["name"]: d["available"] for d in listed}["covid-ct"] is True


def test_inspect_a_single_file_in_ldm_layout(tmp_path):
    from safetensors.torch import save_file

    from tests.autoencoders.conftest import tiny_model, to_ldm_layout

    sd = {
        f"first_stage_model.{k}": v.contiguous() for k, v in to_ldm_layout(tiny_model("flux1-vae").state_dict()).items()
    }
    save_file(sd, str(tmp_path / "flux.safetensors"))
    info = json.loads(cli("inspect", str(tmp_path / "flux.safetensors"), "--json").stdout)
    assert info["family"] == "flux1-vae" and info["alternatives"] == ["sd3-vae"] and info["layout"] == "ldm"
    assert info["latent_channels"] == 16 and info["downsampling_factor"] == 8 and len(info["hash"]) == 16
    assert info["parameters"] == sum(v.numel() for v in tiny_model("flux1-vae").state_dict().values())
    text = cli("inspect", str(tmp_path / "flux.safetensors"), "--family", "sd3-vae").stdout
    assert "family sd3-vae" in text and "ldm keys" in text
    bad = cli("inspect", str(tmp_path / "missing.safetensors"))
    assert bad.returncode == 2 and bad.stderr.startswith(f"error: {tmp_path / 'missing.safetensors'} does not exist")


@pytest.mark.parametrize("ref", ["weights/vae.safetensors", "./runs/vae", "/no/such/folder/", "vae.ckpt"])
def test_a_missing_ae_path_says_it_does_not_exist_and_what_is_accepted(ref, tmp_path, capsys):
    from latentgap.cli import main

    assert main(["diagnose", "--ae", ref, "--home", str(tmp_path)]) == 2
    [line] = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("[latentgap]")]  # progress
    assert line.startswith(f"error: {ref} does not exist (no such file or folder)")
    assert all(what in line for what in ("zoo:sd-vae-mini", "zoo list", ".safetensors", "folder", "hub id"))
    assert "unknown autoencoder" not in line


def test_a_dataset_folder_that_cannot_be_diagnosed_says_why_in_one_line(tmp_path, capsys):
    from PIL import Image

    from latentgap.cli import main

    empty, few = tmp_path / "empty", tmp_path / "few"
    (empty / "normal").mkdir(parents=True)  # folders, but not one file
    for label in ("normal", "lesion"):
        (few / label).mkdir(parents=True)
        for i in range(7):
            Image.fromarray(np.full((32, 32), 40 * i, np.uint8)).save(few / label / f"{i}.png")
    cases = [
        (empty, f"{empty} is an empty folder; put the images in class subfolders (empty/CLASS/IMAGE.png)"),
        (few, f"{few} holds 14 images; a diagnosis needs at least 50"),
    ]
    for dataset, message in cases:
        code = main(["diagnose", "--dataset", str(dataset), "--profile", "smoke", "--home", str(tmp_path / "ws")])
        [line] = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("[latentgap]")]  # progress
        assert code == 2 and line.startswith(f"error: {message}"), line


def test_output_into_a_closed_pipe_exits_quietly():
    """`python -m latentgap ... | head`: the reader leaves mid-output; the CLI exits 141 without a traceback."""
    import fcntl

    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)  # far below the ~29 kB listing
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "latentgap", "zoo", "list", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    os.close(write_end)
    with open(read_end, "rb") as reader:  # like `head -1`: one line, then close
        assert reader.readline() == b"[\n"
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and err == b"", err.decode()[-2000:]


def test_every_cli_option_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    parser = build_parser()
    stack, options = [parser], set()
    while stack:
        p = stack.pop()
        for action in p._actions:
            options.update(o for o in action.option_strings if o.startswith("--") and o != "--help")
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                stack.extend(action.choices.values())
    missing = sorted(o for o in options if o not in readme)
    assert not missing, f"options missing from README: {missing}"


@pytest.mark.slow
def test_diagnose_quick_end_to_end(diagnosed_home):
    """The quick profile on a reduced benchmark with the embedded AE (see conftest); read the records back."""
    tmp_path, out = diagnosed_home
    assert "gap" in out.stdout and "[latentgap] encode" in out.stderr
    records = json.loads(cli("results", "--json", home=tmp_path).stdout)
    names = {r["arm"] or r["quantity"] for r in records}  # an arm, or a quantity no single arm produced
    assert names == {
        "fidelity",
        "image",
        "reconstruction",
        "latent",
        "gap",
        "fidelity_loss",
        "latent-resnet",
        "latent-noise",
        "latent-film",
        "latent-film-distilled",
        "probe-linear",
        "probe-knn",
        "probe-linear-image",
        "probe-knn-image",
        "probe-linear-reconstruction",
        "probe-knn-reconstruction",
        "image-s2d",
        "reconstruction-s2d",
        "matched_gap",
        "matched_fidelity_loss",
    }
    for r in records:
        assert {
            "run_id",
            "autoencoder",
            "dataset",
            "arm",
            "quantity",
            "metric",
            "value",
            "seed",
            "fold",
            "noise_level",
        } <= r.keys()
        assert r["autoencoder"] == "zoo:sd-vae-mini" and r["dataset"] == "phantom-chest"
        run_level = r["fold"] is None and r["quantity"] != "fidelity"  # a difference's mean over the replicates
        assert r["seed"] == (None if run_level else 1)
    curves = [r for r in records if r["noise_level"] is not None]
    for space in ("latent", "latent-noise", "latent-film", "latent-film-distilled"):
        levels = {r["noise_level"] for r in curves if r["arm"] == space and r["metric"] == "balanced_accuracy"}
        assert len(levels) == 10 and min(levels) == pytest.approx(0.002) and max(levels) == pytest.approx(80)
    by = {(r["arm"] or r["quantity"], r["metric"]): r for r in records if r["noise_level"] is None}
    for space in ("image", "reconstruction", "latent"):
        for metric in ("balanced_accuracy", "accuracy", "auroc", "mcc"):
            r = by[(space, metric)]
            assert r["ci_low"] <= r["value"] <= r["ci_high"]
    bacc = {s: by[(s, "balanced_accuracy")]["value"] for s in ("image", "reconstruction", "latent")}
    assert by[("gap", "balanced_accuracy")]["value"] == pytest.approx(bacc["reconstruction"] - bacc["latent"])
    assert by[("fidelity_loss", "balanced_accuracy")]["value"] == pytest.approx(bacc["image"] - bacc["reconstruction"])
    assert by[("fidelity", "psnr")]["value"] > 20 and 0 < by[("fidelity", "ssim")]["value"] <= 1

    from latentgap.store import Store

    stored = Store(tmp_path).run_spec(records[0]["run_id"])
    assert stored["spec"]["profile_settings"]["name"] == "quick" and stored["spec"]["max_samples"] == 300
    assert stored["versions"]["torch"] and stored["timing"]["total"] > 0
    assert any(k.startswith("train_latent") for k in stored["timing"])
    assert stored["summary"]["train_fractions"] == [1.0] and Store(tmp_path).learning_curve().empty  # no curve asked
    assert json.loads(cli("results", "--json", "--kind", "learning", home=tmp_path).stdout) == []
    structure = json.loads(cli("results", "--json", "--kind", "structure", home=tmp_path).stdout)
    assert {"effective_rank", "fisher_ratio", "channel_kurtosis"} <= {r["statistic"] for r in structure}
    tests = json.loads(cli("results", "--json", "--kind", "tests", home=tmp_path).stdout)
    assert tests[0]["n_pairs"] == 1 and tests[0]["t_test_p"] is None  # one fold: no p-value yet

    # the explorer's UMAPs and the reconstruction gallery of the same run
    from latentgap.gallery import load_gallery

    run_id = records[0]["run_id"]
    proj = Store(tmp_path).projections(run_id)
    assert set(proj.space) == {"latent", "image"} and len(proj) == 2 * stored["summary"]["n_images"]
    assert set(proj.split) == {"train", "val", "test"} and proj[proj.split == "test"].predicted.notna().all()
    gallery = load_gallery(tmp_path, run_id)
    assert stored["summary"]["gallery"] == f"gallery/{run_id}.npz" and gallery["image"].dtype == np.uint8
    assert set(gallery["index"]) >= set(proj[proj.split == "test"].sample_index)  # every test sample has a thumbnail
    # the explorer's per-sample records: every arm's call on every test sample, PSNR of every sample, thumbnails
    from latentgap.thumbnails import load_thumbnail_index, sample_files

    test = set(proj[proj.split == "test"].sample_index)
    preds = Store(tmp_path).predictions(run_id)
    assert set(preds.arm) == set(stored["summary"]["arms"]) and preds.confidence.between(0, 1).all()
    assert all(set(g.sample_index) == test for _, g in preds.groupby("arm"))
    assert len(Store(tmp_path).sample_fidelity(run_id)) == stored["summary"]["n_images"]
    thumbs = load_thumbnail_index(tmp_path, run_id)
    assert set(thumbs["samples"]) >= test and all(f.exists() for f in sample_files(thumbs, min(test)).values())
    assert stored["summary"]["noise_training_sigma"][1] <= stored["spec"]["profile_settings"]["train_sigma_max"]


@pytest.mark.slow
def test_diagnose_a_dataset_on_disk(tmp_path):
    """A generic manifest of PNG files with its own split (real-data route): detected, diagnosed on the official
    split (stored as fold -1), stored."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = ["path,label,split,patient_id"]
    for i in range(120):
        label = ["normal", "lesion"][i % 2]
        img = rng.uniform(60, 120, size=(40, 48)).astype(np.uint8)
        if label == "lesion":
            img[10:30, 12:32] += 80  # a bright square: easy, so the test is about the route, not the science
        Image.fromarray(img).save(tmp_path / f"img{i}.png")
        part = "train" if i < 80 else "val" if i < 100 else "test"
        rows.append(f"img{i}.png,{label},{part},p{i // 2}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    home = tmp_path / "home"
    out = cli(
        "diagnose",
        "--ae",
        "zoo:sd-vae-mini",
        "--dataset",
        str(tmp_path / "manifest.csv"),
        "--device",
        "cpu",
        "--home",
        str(home),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    records = json.loads(cli("results", "--json", "--home", str(home)).stdout)
    image = {r["metric"]: r["value"] for r in records if r["arm"] == "image" and r["noise_level"] is None}
    assert {r["dataset"] for r in records} == {"manifest"}  # named after the file; no full path stored
    assert {r["fold"] for r in records if r["fold"] is not None} == {-1}  # the official split
    assert image["balanced_accuracy"] > 0.8
    bad = cli("diagnose", "--dataset", str(tmp_path / "missing.csv"), "--home", str(home))
    assert bad.returncode == 2 and "unknown dataset" in bad.stderr


def test_diagnose_queue_submits_a_dashboard_job_once(tmp_path, monkeypatch, capsys):
    """`diagnose --queue` (scripts/demo.sh) queues a job for the worker, with local paths made absolute (the worker
    runs in another folder), and does not queue an identical active job twice."""
    from latentgap.cli import main
    from latentgap.jobs import spec_from_dict
    from latentgap.store import Store

    (tmp_path / "vae.safetensors").write_bytes(b"not read until the job runs")
    monkeypatch.chdir(tmp_path)
    args = ["diagnose", "--queue", "--ae", "vae.safetensors", "--dataset", "phantom-chest", "--profile", "smoke"]
    args += ["--home", str(tmp_path / "home")]
    assert main(args) == 0
    job_id = capsys.readouterr().out.strip()
    assert main(args) == 0
    out = capsys.readouterr()
    assert out.out.strip() == job_id and "already queued or running" in out.err
    store = Store(tmp_path / "home")
    [job] = store.jobs().itertuples()
    assert (
        job.job_id == job_id
        and job.status == "queued"
        and job.label == "vae.safetensors · phantom-chest · smoke · seed 0"
    )
    spec = spec_from_dict(store.claim_job(1)[1])
    assert spec.autoencoder == str(tmp_path / "vae.safetensors") and spec.profile == "smoke"
