"""Diagnose tab: upload a checkpoint (or name a zoo model, local path or hub id), see the detected family, queue
diagnoses, and follow the jobs (progress with elapsed time and time left, cancel, retry). Long work runs in the worker process (`jobs.py`);
handlers only validate, enqueue and read the queue, so a page reload loses nothing."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from latentgap.errors import LatentgapError
from latentgap.workspace import Workspace

UPLOAD_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
JOB_COLUMNS = ["job_id", "status", "progress_pct", "step", "label", "run_id", "error", "updated_at"]
STALE_COPY_S = 3600  # a temporary upload copy this old was left by a killed server (a check takes seconds)


def store_upload(home: Path, uploaded: str, family: str | None = "auto") -> tuple[Path, str, dict]:
    """Check an upload with the loader and keep it in the workspace only if accepted: (stored path, display label,
    the loader's record). A LatentgapError, naming the user's file, when it is refused.

    The stored name is `<sha256[:16]><suffix>`: the user's file name never becomes a path (no `../`, no odd
    characters), and the same bytes uploaded twice land on the same file (so cached latents are reused). A new upload
    is checked under a private temporary name and takes its final name only once accepted, so `uploads/` never holds
    a refused or half-written file.
    """
    from latentgap.autoencoders.loading import file_hash

    src = Path(uploaded)
    shown = "".join(c for c in src.name if c.isprintable())[:80] or "the upload"  # for messages: one line
    suffix = src.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise LatentgapError(f"{shown}: upload a weights file ({', '.join(UPLOAD_SUFFIXES)})")
    dest_dir = Workspace(Path(home)).uploads
    dest_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale_copies(dest_dir)
    dest = dest_dir / f"{file_hash([src])}{suffix}"
    label = "upload:" + ("".join(c for c in src.name if c.isalnum() or c in "._-")[:60] or dest.name)
    if dest.exists():  # these bytes were accepted before and jobs may use them: check them again, never delete
        return dest, label, describe_source(str(dest), label, family, shown)
    tmp = dest_dir / f".{dest.stem}.{uuid.uuid4().hex[:8]}.part{suffix}"
    try:
        try:
            shutil.copyfile(src, tmp)
        except OSError as e:
            raise LatentgapError(
                f"{shown} could not be stored in the workspace ({e.strerror}); free disk space or use another --home"
            ) from None
        info = describe_source(str(tmp), label, family, shown)
        tmp.replace(dest)  # accepted: complete under its final name
    finally:
        tmp.unlink(missing_ok=True)  # refused, failed or already moved
    return dest, label, info


def _sweep_stale_copies(folder: Path) -> None:
    """Delete temporary upload copies that a killed server left behind."""
    cutoff = time.time() - STALE_COPY_S
    for copy in folder.glob(".*.part.*"):
        try:
            if copy.stat().st_mtime < cutoff:
                copy.unlink()
        except FileNotFoundError:  # another request swept it first
            pass


def resolve_reference(reference: str | None) -> tuple[str, str]:
    """(what load_autoencoder takes, a label safe to show) from a typed zoo name, local path or hub id."""
    ref = (reference or "").strip()
    if not ref:
        raise LatentgapError("upload a checkpoint, or type a zoo name (zoo:sd-vae-mini), a local path or a hub id")
    return ref, ref if ref.startswith("zoo:") or not Path(ref).is_absolute() else Path(ref).name


def accept(home: Path, uploaded: str | None, reference: str | None, family: str | None) -> tuple[str, str, dict]:
    """(what load_autoencoder takes, a label safe to show, the loader's record) for an upload or a typed reference,
    once the loader accepts it."""
    if uploaded:
        path, label, info = store_upload(home, uploaded, family)
        return str(path), label, info
    source, label = resolve_reference(reference)
    return source, label, describe_source(source, label, family)


def _family(choice: str | None) -> str | None:
    return None if choice in (None, "", "auto") else choice


def describe_source(source: str, label: str, family: str | None, file_name: str | None = None) -> dict:
    """What the loader sees, without diagnosing: the `inspect` verb's record, named by `label` (no paths);
    `file_name`: how refusals call an upload (the user's name, not the stored one)."""
    from latentgap.autoencoders.loading import load_autoencoder

    return {**load_autoencoder(source, family=_family(family), name=file_name).describe(), "name": label}


def detect(home: Path, uploaded: str | None, reference: str | None, family: str) -> dict:
    return accept(home, uploaded, reference, family)[2]


def submit(home: Path, uploaded, reference, family, datasets, profile, max_samples, seed, seeds="") -> list[str]:
    """Validate the autoencoder now (a bad file fails here, not in the queue) and queue one job per benchmark."""
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    if not datasets:
        raise LatentgapError("choose at least one benchmark")
    source, label, info = accept(home, uploaded, reference, family)  # an upload is hashed, checked and kept once
    store, ids = Store(home), []
    for dataset in datasets:
        spec = DiagnosisSpec(
            autoencoder=source,
            dataset=dataset,
            profile=profile,
            seed=int(seed or 0),
            seeds=(seeds or "").strip() or None,  # replicates "0,1,2"; empty: the seed alone
            label=label,
            family=_family(family),
            max_samples=int(max_samples) if max_samples else None,
        )
        job_label = f"{label} ({info['family']}) · {dataset} · {profile}"
        ids.append(store.submit_job({k: v for k, v in spec.to_dict().items() if k != "profile_settings"}, job_label))
    return ids


def duration(seconds: float) -> str:
    """45 s, 3 min 05 s, 2 h 04 min."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def seconds_left(fraction: float, step_started_s: float, now: float) -> float | None:
    """Seconds left in a step from its pace so far, elapsed / fraction x (1 - fraction); None before the step has
    shown enough progress (2 % and 3 s) for the pace to mean anything."""
    elapsed = now - step_started_s
    if not fraction or fraction < 0.02 or elapsed < 3:
        return None
    return elapsed / fraction * (1 - fraction)


def _running_time(job, now: float) -> str:
    """ "3 min 05 s elapsed · step 42 % · about 4 min 10 s left" for a running job's row."""
    if job.started_s != job.started_s:  # NaN: a row written before the timing columns existed
        return ""
    parts = [f"{duration(now - job.started_s)} elapsed"]
    if job.step_progress == job.step_progress and job.step_started_s == job.step_started_s:
        left = seconds_left(job.step_progress, job.step_started_s, now)
        if job.step_progress > 0:
            parts.append(f"step {100 * job.step_progress:.0f} %")
        parts.append(f"about {duration(left)} left" if left is not None else "estimating time left")
    return " · ".join(parts)


def describe_jobs(jobs, now: float):
    """The jobs table as shown: a running job's elapsed time and the time left in its step (from the pace of its
    loops), and for each queued job what it waits behind (the worker takes the oldest first, one at a time)."""
    jobs = jobs.copy()
    jobs["time"] = ""
    running = jobs[jobs.status == "running"]
    ahead = running.label.tolist()
    for i in jobs[jobs.status == "queued"].sort_values(["created_at", "job_id"]).index:
        if ahead:
            behind = f"{ahead[0]} (running)" if len(running) else ahead[0]
            more = len(ahead) - 1
            jobs.loc[i, "step"] = f"waits behind {behind}" + (f" and {more} more queued" if more else "")
        else:
            jobs.loc[i, "step"] = "next: starts when the worker is free"
        ahead.append(jobs.loc[i, "label"])
    for i in running.index:
        jobs.loc[i, "time"] = _running_time(jobs.loc[i], now)
    return jobs


def jobs_summary(jobs, now: float) -> str:
    """One markdown line above the table: what runs now, how far it is, what waits."""
    running, queued = jobs[jobs.status == "running"], int((jobs.status == "queued").sum())
    waiting = f"; {queued} job(s) queued behind it" if queued else ""
    if running.empty:
        return f"**No job running**; {queued} queued, starting in a moment" if queued else "**No job running.**"
    job = running.iloc[0]
    at_most = (
        " (at most: early stopping may end training sooner)"
        if "left" in job.time and job.step.startswith("train ")
        else ""
    )
    return f"**Running:** {job.label} — `{job.step}`, job {job.progress_pct:.0f} % done; {job.time}{at_most}{waiting}"


SHOWN_JOB_COLUMNS = [*JOB_COLUMNS[:4], "time", *JOB_COLUMNS[4:]]  # the step, then its elapsed time and time left


def jobs_view(home: Path):
    """(jobs table, summary line) as of now."""
    import time

    from latentgap.store import Store

    now = time.time()
    jobs = describe_jobs(Store(home).jobs(), now)
    shown = jobs[SHOWN_JOB_COLUMNS].assign(updated_at=jobs.updated_at.dt.strftime("%Y-%m-%d %H:%M:%S"))
    return shown, jobs_summary(jobs, now)  # times as text: the REST API's JSON encoder refuses pandas Timestamps


def jobs_table(home: Path):
    return jobs_view(home)[0]


def build_diagnose_tab(app, home: Path, supervisor=None, timer=None) -> None:
    """timer: the page's 2 s `gr.Timer` that refreshes the job list (a new one when None)."""
    import gradio as gr

    from latentgap.autoencoders.families import FAMILIES
    from latentgap.autoencoders.zoo import DEFAULT_AE, ZOO
    from latentgap.datasets.registry import BENCHMARKS, DEFAULT_DATASET
    from latentgap.spec import PROFILES
    from latentgap.ui.refresh import cached_view, jobs_version

    gr.Markdown(
        "Upload an autoencoder checkpoint (`.safetensors` preferred; `.ckpt`/`.pt`/`.bin` are read with "
        "`weights_only=True`, nothing in a file is executed) **or** name one, check the detected family, "
        "then queue a diagnosis per benchmark. Jobs run one at a time in a worker process and survive a "
        "page reload. `chest-xray-pneumonia` is **real** (Kermany chest X-rays); the `phantom-*` benchmarks are "
        "**SYNTHETIC**."
    )
    with gr.Row():
        upload = gr.File(
            label="checkpoint file",
            file_types=list(UPLOAD_SUFFIXES),
            type="filepath",
            scale=2,
            elem_id="checkpoint-upload",
        )
        with gr.Column(scale=2):
            reference = gr.Dropdown(
                [f"zoo:{n}" for n in ZOO],
                value=DEFAULT_AE,
                allow_custom_value=True,
                label="…or a zoo model, local path or hub id",
            )
            family = gr.Dropdown(["auto", *FAMILIES], value="auto", label="family (auto: detected)")
            detect_btn = gr.Button("Detect family")
    detected = gr.JSON(label="detected")
    with gr.Row():
        datasets = gr.CheckboxGroup(list(BENCHMARKS), value=[DEFAULT_DATASET], label="benchmarks")
        profile = gr.Radio(
            list(PROFILES),
            value="quick",
            label="profile (smoke: seconds; quick: minutes on CPU; standard: 15 replicates + learning curves, GPU)",
        )
        max_samples = gr.Number(value=None, precision=0, label="max images (0 = all; whole patients)")
        seed = gr.Number(value=0, precision=0, label="seed")
        seeds = gr.Textbox(value="", label="replicate seeds, e.g. 0,1,2 (empty: the profile's, from the seed)")
    submit_btn = gr.Button("Diagnose", variant="primary")
    message = gr.Markdown()
    summary = gr.Markdown(elem_id="jobs-summary")
    jobs = gr.Dataframe(
        label="jobs (refreshes every 2 s; click a row to pick it; Cancel stops a running job within seconds)",
        interactive=False,
        elem_id="jobs",
    )
    with gr.Row():
        job_id = gr.Textbox(label="job id", scale=3, elem_id="job-id")
        cancel_btn = gr.Button("Cancel", scale=1)
        retry_btn = gr.Button("Retry", scale=1)

    def on_submit(*args):
        ids = submit(home, *args)
        return f"queued {len(ids)} job(s): {', '.join(ids)}", jobs_table(home)

    def on_refresh():
        if supervisor is not None:
            supervisor.ensure_running()  # a crashed worker is restarted and its job requeued
        return jobs_view(home)

    def on_cancel(jid):
        from latentgap.store import Store

        ok = Store(home).cancel_job((jid or "").strip())
        said = (
            f"cancelled {jid}: a running job stops within seconds"
            if ok
            else f"nothing to cancel for {jid or '(no id)'}"
        )
        return said, jobs_table(home)

    def on_retry(jid):
        from latentgap.store import Store

        ok = Store(home).retry_job((jid or "").strip())
        return ("requeued " if ok else "only failed or cancelled jobs can be retried: ") + (
            jid or "(no id)"
        ), jobs_table(home)

    inputs = [upload, reference, family, datasets, profile, max_samples, seed, seeds]
    detect_btn.click(lambda u, r, f: detect(home, u, r, f), [upload, reference, family], detected, api_name="detect")
    submit_btn.click(on_submit, inputs, [message, jobs], api_name="diagnose")  # user errors: ui/guard.py
    cancel_btn.click(on_cancel, job_id, [message, jobs], api_name="cancel")
    retry_btn.click(on_retry, job_id, [message, jobs], api_name="retry")

    def on_select(evt):
        return evt.row_value[0] if evt.row_value else ""

    on_select.__annotations__["evt"] = gr.SelectData  # a real class: postponed annotations would hide it from Gradio

    jobs.select(on_select, None, job_id, api_name=False)  # clicking a job fills its id
    # the summary line rides on the 2 s tick; the API endpoints keep their one-table answers
    (timer or gr.Timer(2.0)).tick(on_refresh, outputs=[jobs, summary], api_name=False, show_progress="hidden")
    # a page load (and an API client) reads the job list; the 2 s tick above also keeps the worker alive
    app.load(
        cached_view(home, lambda: jobs_table(home), version=lambda: jobs_version(home)), outputs=jobs, api_name="jobs"
    )
    app.load(lambda: jobs_view(home)[1], outputs=summary, api_name=False)
