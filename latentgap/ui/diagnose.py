"""Diagnose tab: upload a checkpoint (or name a zoo model, local path or hub id), see the detected family, queue
diagnoses, and follow the jobs (progress with elapsed time and time left, cancel, retry). Long work runs in the worker process (`jobs.py`);
handlers only validate, enqueue and read the queue, so a page reload loses nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

from latentgap.errors import LatentgapError
from latentgap.workspace import Workspace

UPLOAD_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
JOB_COLUMNS = ["job_id", "status", "progress_pct", "step", "label", "run_id", "error", "updated_at"]


def store_upload(home: Path, uploaded: str) -> tuple[Path, str]:
    """Copy an upload into the workspace under a content-derived name; (stored path, display label).

    The stored name is `<sha256[:16]><suffix>`: the user's file name never becomes a path (no `../`, no odd
    characters), and the same bytes uploaded twice land on the same file (so cached latents are reused).
    """
    from latentgap.autoencoders.loading import file_hash

    src = Path(uploaded)
    suffix = src.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise LatentgapError(f"{src.name[:80]}: upload a weights file ({', '.join(UPLOAD_SUFFIXES)})")
    dest_dir = Workspace(Path(home)).uploads
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"{file_hash([src])}{suffix}"
    if not dest.exists():
        tmp = dest.with_suffix(dest.suffix + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)  # complete or absent
    label = "".join(c for c in src.name if c.isalnum() or c in "._-")[:60] or dest.name
    return dest, f"upload:{label}"


def resolve_source(home: Path, uploaded: str | None, reference: str | None) -> tuple[str, str]:
    """(what load_autoencoder takes, a label safe to show) from an upload or a typed reference."""
    if uploaded:
        path, label = store_upload(home, uploaded)
        return str(path), label
    ref = (reference or "").strip()
    if not ref:
        raise LatentgapError("upload a checkpoint, or type a zoo name (zoo:sd-vae-mini), a local path or a hub id")
    return ref, ref if ref.startswith("zoo:") or not Path(ref).is_absolute() else Path(ref).name


def _family(choice: str | None) -> str | None:
    return None if choice in (None, "", "auto") else choice


def describe_source(source: str, label: str, family: str | None) -> dict:
    """What the loader sees, without diagnosing: the `inspect` verb's record, named by `label` (no paths)."""
    from latentgap.autoencoders.loading import load_autoencoder

    return {**load_autoencoder(source, family=_family(family)).describe(), "name": label}


def detect(home: Path, uploaded: str | None, reference: str | None, family: str) -> dict:
    return describe_source(*resolve_source(home, uploaded, reference), family)


def submit(home: Path, uploaded, reference, family, datasets, profile, max_samples, seed) -> list[str]:
    """Validate the autoencoder now (a bad file fails here, not in the queue) and queue one job per benchmark."""
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    if not datasets:
        raise LatentgapError("choose at least one benchmark")
    source, label = resolve_source(home, uploaded, reference)  # an upload is hashed and copied once
    info = describe_source(source, label, family)
    store, ids = Store(home), []
    for dataset in datasets:
        spec = DiagnosisSpec(
            autoencoder=source,
            dataset=dataset,
            profile=profile,
            seed=int(seed or 0),
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
    return jobs[SHOWN_JOB_COLUMNS], jobs_summary(jobs, now)


def jobs_table(home: Path):
    return jobs_view(home)[0]


def build_diagnose_tab(app, home: Path, supervisor=None, timer=None) -> None:
    """timer: the page's 2 s `gr.Timer` that refreshes the job list (a new one when None)."""
    import gradio as gr

    from latentgap.autoencoders.families import FAMILIES
    from latentgap.autoencoders.zoo import ZOO
    from latentgap.datasets.registry import BENCHMARKS, DEFAULT_DATASET
    from latentgap.spec import PROFILES

    def guarded(fn):
        def run(*args):
            try:
                return fn(*args)
            except LatentgapError as e:
                raise gr.Error(str(e)) from None

        return run

    gr.Markdown(
        "Upload an autoencoder checkpoint (`.safetensors` preferred; `.ckpt`/`.pt`/`.bin` are read with "
        "`weights_only=True`, nothing in a file is executed) **or** name one, check the detected family, "
        "then queue a diagnosis per benchmark. Jobs run one at a time in a worker process and survive a "
        "page reload. Embedded benchmarks are **SYNTHETIC**."
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
                value="zoo:sd-vae-mini",
                allow_custom_value=True,
                label="…or a zoo model, local path or hub id",
            )
            family = gr.Dropdown(["auto", *FAMILIES], value="auto", label="family (auto: detected)")
            detect_btn = gr.Button("Detect family")
    detected = gr.JSON(label="detected")
    with gr.Row():
        datasets = gr.CheckboxGroup(list(BENCHMARKS), value=[DEFAULT_DATASET], label="benchmarks")
        profile = gr.Radio(list(PROFILES), value="quick", label="profile (smoke: seconds; quick: minutes on CPU)")
        max_samples = gr.Number(value=None, precision=0, label="max images (0 = all; whole patients)")
        seed = gr.Number(value=0, precision=0, label="seed")
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

    inputs = [upload, reference, family, datasets, profile, max_samples, seed]
    detect_btn.click(
        guarded(lambda u, r, f: detect(home, u, r, f)), [upload, reference, family], detected, api_name="detect"
    )
    submit_btn.click(guarded(on_submit), inputs, [message, jobs], api_name="diagnose")
    cancel_btn.click(on_cancel, job_id, [message, jobs], api_name="cancel")
    retry_btn.click(on_retry, job_id, [message, jobs], api_name="retry")

    def on_select(evt):
        return evt.row_value[0] if evt.row_value else ""

    on_select.__annotations__["evt"] = gr.SelectData  # a real class: postponed annotations would hide it from Gradio

    jobs.select(on_select, None, job_id, api_name=False)  # clicking a job fills its id
    # the summary line rides on the 2 s tick; the API endpoints keep their one-table answers
    (timer or gr.Timer(2.0)).tick(on_refresh, outputs=[jobs, summary], api_name=False, show_progress="hidden")
    app.load(lambda: on_refresh()[0], outputs=jobs, api_name="jobs")
    app.load(lambda: jobs_view(home)[1], outputs=summary, api_name=False)
