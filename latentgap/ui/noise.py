"""Noise curves tab: per-noise-level accuracy of the plain, noise-trained, FiLM and distilled latent classifiers, and
the run's learning curves (every arm's accuracy and the gaps against the number of training images)."""

from __future__ import annotations

from pathlib import Path

MAX_PICKER_RUNS = 50  # choices a run picker lists: the newest runs (of the chosen benchmarks and profiles); with
# hundreds of runs a full list is hundreds of KB per page load and unreadable; any stored run id can still be typed


def _labelled(runs) -> list[tuple[str, str]]:
    """(label, run id) per row of a runs frame; the label says whether the run's data is real or SYNTHETIC."""
    return [
        (
            f"{r.autoencoder} · {r.dataset} ({'SYNTHETIC' if r.synthetic else 'real'}) · {r.profile} · seed {r.seed}"
            f" · {r.run_id}",
            r.run_id,
        )
        for r in runs.itertuples()
    ]


def _filtered(runs, dataset=None, profile=None):
    """The runs of the chosen benchmarks and profiles (empty or None: all)."""
    for col, chosen in (("dataset", dataset), ("profile", profile)):
        if chosen:
            runs = runs[runs[col].isin(chosen)]
    return runs


def run_choices(home: Path, limit: int | None = None) -> list[tuple[str, str]]:
    """(label, run id) of the stored runs, newest first (the newest `limit` when given)."""
    from latentgap.store import Store

    runs = Store(home).runs()
    return _labelled(runs if limit is None else runs.head(limit))


def fill_run_pickers(home: Path, n_newest: int, n_optional: int = 0, current=(), dataset=None, profile=None) -> list:
    """Run dropdown updates for every per-run tab from one store query: `n_newest` with the newest run selected,
    then `n_optional` that start at "none" (e.g. the second run of a side-by-side view). Each lists the newest
    MAX_PICKER_RUNS runs of the chosen benchmarks and profiles (`dataset`, `profile`: empty = all). With `current`
    (the pickers' values, on a refresh after a new run or a filter change) a picker keeps its run while that run is
    stored, listed first when the filter leaves it out."""
    import gradio as gr

    from latentgap.store import Store

    runs = Store(home).runs()
    listed = _filtered(runs, dataset, profile).head(MAX_PICKER_RUNS)
    choices = _labelled(listed)
    stored = set(runs.run_id)
    current = list(current) + [None] * (n_newest + n_optional - len(current))
    newest = choices[0][1] if choices else None
    out = []
    for i, value in enumerate(current):
        kept = value if value in stored else None
        own = _labelled(runs[runs.run_id == kept]) if kept and kept not in set(listed.run_id) else []
        if i < n_newest:
            out.append(gr.Dropdown(choices=[*own, *choices], value=kept or newest))
        else:
            out.append(gr.Dropdown(choices=[("none", ""), *own, *choices], value=kept or ""))
    return out


def picker_filters(home: Path) -> list:
    """The run pickers' benchmark and profile filters: their choices from the stored runs."""
    import gradio as gr

    from latentgap.store import Store

    runs = Store(home).runs()
    return [gr.Dropdown(choices=sorted(runs[c].unique().tolist())) for c in ("dataset", "profile")]


NOISE_ARMS = ("latent-noise", "latent-film", "latent-film-distilled")  # the arms trained on noisy latents (arms.py)
SIGMA_MIN = 0.002  # the EDM schedule's lowest level (noise.karras_sigmas): where noise training starts


def trained_sigma_range(spec: dict) -> tuple[float, float] | None:
    """The σ range the run's noise-trained arms saw: stored with the run, else (older runs) the schedule's lowest
    level up to the profile's `train_sigma_max`; None when the run trained no arm on noise."""
    summary = spec["summary"]
    if "noise_training_sigma" in summary:  # stored with the run (null: no arm trained on noise)
        return tuple(summary["noise_training_sigma"]) if summary["noise_training_sigma"] else None
    settings = spec["spec"].get("profile_settings", {})
    arms = summary.get("arms") or settings.get("arms", ())
    if not set(arms) & set(NOISE_ARMS) or "train_sigma_max" not in settings:
        return None
    return SIGMA_MIN, float(settings["train_sigma_max"])


def chance_level(metric: str, n_classes: int) -> float | None:
    """What a classifier that guesses scores: 1 / classes balanced accuracy, 0.5 AUROC."""
    return {"balanced_accuracy": 1 / n_classes if n_classes else None, "auroc": 0.5}.get(metric)


def noise_view(home: Path, run_id: str | None, metric: str):
    from latentgap.plots import noise_curves
    from latentgap.store import Store

    store = Store(home)
    if not run_id:
        return noise_curves(store.noise_curves("-"), store.results().head(0), metric)
    results = store.results(run_id)
    clean = results[results.noise_level.isna()]
    spec = store.run_spec(run_id)
    n_classes = spec["summary"].get("n_classes") or len(spec["summary"].get("class_names", []))
    return noise_curves(
        store.noise_curves(run_id), clean, metric, chance_level(metric, n_classes), trained_sigma_range(spec)
    )


def learning_view(home: Path, run_id: str | None):
    """The learning-curve figure of a run (a plain note when it has none)."""
    from latentgap.plots import learning_curves
    from latentgap.store import Store

    if not run_id:
        return learning_curves(Store(home).learning_curve("-"))
    store = Store(home)
    summary = store.run_spec(run_id)["summary"]
    n_classes = summary.get("n_classes") or len(summary.get("class_names", []))
    return learning_curves(store.learning_curve(run_id), chance_level("balanced_accuracy", n_classes))


def build_noise_tab(app, home: Path, tab):
    import gradio as gr

    from latentgap.ui.refresh import cached_view

    with gr.Row():
        run = gr.Dropdown(  # API clients name any run
            label="run", choices=[], scale=3, allow_custom_value=True, elem_id="noise-run"
        )
        metric = gr.Dropdown(["balanced_accuracy", "auroc"], value="balanced_accuracy", label="metric", scale=1)
    plot = gr.Plot(label="per-noise-level accuracy")
    learning = gr.Plot(label="learning curves (accuracy and gap vs training images)")

    def view(run_id, metric):
        return noise_view(home, run_id, metric)

    gr.on(
        [tab.select, run.input, metric.input],
        cached_view(home, view),
        inputs=[run, metric],
        outputs=plot,
        api_name="noise_curves",
    )
    gr.on(
        [tab.select, run.input],
        lambda r: learning_view(home, r),
        inputs=run,
        outputs=learning,
        api_name="learning_curves",
    )
    return run
