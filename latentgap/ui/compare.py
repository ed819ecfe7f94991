"""Compare tab: two or more autoencoders on one benchmark — gap bars, noise curves, latent UMAPs, reconstructions and
latent-structure statistics side by side (the newest run of each, of any profile and seed unless one is chosen). Runs
of different profiles or seeds are placed side by side too, with a note saying where they differ."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STRUCTURE_SUMMARY = (
    "effective_rank",
    "fisher_ratio",
    "fisher_ratio_image",
    "silhouette",
    "knn_overlap_image_latent",
    "trustworthiness_image_to_latent",
)


ANY = "any"  # the profile / seed choice that takes each autoencoder's newest run whatever its profile or seed


def compare_choices(home: Path) -> dict[str, list]:
    """What can be compared: stored autoencoders, benchmarks, profiles and seeds (the last two with "any")."""
    from latentgap.store import Store

    runs = Store(home).runs()
    c = {k: sorted(runs[k].unique().tolist()) for k in ("autoencoder", "dataset", "profile", "seed")}
    return {**c, "profile": [ANY, *c["profile"]], "seed": [ANY, *c["seed"]]}


def _chosen(value) -> bool:
    return value not in (None, "", ANY)


def matching_runs(
    runs: pd.DataFrame, autoencoders: list[str], dataset: str, profile: str | None = ANY, seed: int | str | None = ANY
) -> pd.DataFrame:
    """The newest run of each autoencoder on `dataset` (of that profile and seed when chosen, else of any), in the
    order the user picked them."""
    m = runs[runs.autoencoder.isin(autoencoders) & (runs.dataset == dataset)]
    if _chosen(profile):
        m = m[m.profile == profile]
    if _chosen(seed):
        m = m[m.seed == int(seed)]
    newest = m.sort_values("created_at", ascending=False).drop_duplicates("autoencoder")
    return (
        newest.set_index("autoencoder").reindex([a for a in autoencoders if a in set(newest.autoencoder)]).reset_index()
    )


def differences_note(runs: pd.DataFrame, label: str = "autoencoder") -> str:
    """Where runs shown side by side differ in benchmark, profile or seed (empty when they do not), naming each run by
    its `label` column: different budgets are not like for like, and different seeds or image sets show other
    samples."""
    parts = []
    for col, why in (
        ("dataset", "different data"),
        ("profile", "different budgets, so the numbers are not like for like"),
        ("seed", "other classifier initialisations and, with a sample cap, other images"),
    ):
        if runs[col].nunique() > 1:
            each = ", ".join(f"{r[label]}: {r[col]}" for _, r in runs.iterrows())
            parts.append(f"**{col}s differ** ({each}): {why}")
    if parts:
        parts.append("reconstruction rows show only the test samples the runs share")
    return "; ".join(parts)


def compare_view(home: Path, autoencoders: list[str], dataset: str, profile: str, seed, metric: str):
    """(gap bars, noise curves, latent UMAPs, reconstruction grid, structure table, note) for the chosen runs;
    profile and seed "any" take each autoencoder's newest run on the benchmark."""
    from latentgap.gallery import load_gallery
    from latentgap.plots import compare_noise_curves, gap_bars, reconstruction_grid, umap_grid
    from latentgap.store import Store

    store = Store(home)
    runs = matching_runs(store.runs(), autoencoders or [], dataset, profile, seed) if dataset else pd.DataFrame()
    ids = runs.run_id.tolist() if not runs.empty else []
    missing = sorted(set(autoencoders or []) - set(runs.autoencoder if ids else []))
    wanted = " / ".join(
        [dataset or "-"] + [f"{k} {v}" for k, v in (("profile", profile), ("seed", seed)) if _chosen(v)]
    )
    note = f"{len(ids)} runs compared" + (f"; no {wanted} run for: {', '.join(missing)}" if missing else "")
    if ids and (differ := differences_note(runs)):
        note += f"  \n{differ}"
    gap = store.gap_table(metric)
    gap = gap[gap.run_id.isin(ids)]
    curves = pd.concat([store.noise_curves(r) for r in ids]) if ids else pd.DataFrame()
    names = store.class_names(ids[0]) if ids else []
    umaps = {}
    for r in runs.itertuples() if ids else []:
        p = store.projections(r.run_id)
        umaps[r.autoencoder] = p[p.space == "latent"]
    galleries = {r.autoencoder: load_gallery(home, r.run_id) for r in runs.itertuples()} if ids else {}
    structure = store.structure()
    structure = structure[structure.run_id.isin(ids) & structure.statistic.isin(STRUCTURE_SUMMARY)]
    table = (
        structure.pivot_table(index="autoencoder", columns="statistic", values="value").reset_index().round(4)
        if not structure.empty
        else pd.DataFrame(columns=["autoencoder", *STRUCTURE_SUMMARY])
    )
    return (
        gap_bars(gap, metric),
        compare_noise_curves(curves, metric),
        umap_grid(umaps, "class", names),
        reconstruction_grid(galleries, names, 1),
        table,
        note,
    )


def build_compare_tab(app, home: Path, tab, runs_changed=None) -> None:
    """runs_changed: a component whose change means a run was stored (ui.refresh): the choices follow it."""
    import gradio as gr

    from latentgap.metrics import CLASSIFICATION_METRICS

    with gr.Row():
        aes = gr.Dropdown(
            label="autoencoders (two or more)",
            choices=[],
            multiselect=True,
            scale=3,
            allow_custom_value=True,
            elem_id="compare-autoencoders",
        )
        dataset = gr.Dropdown(label="benchmark", choices=[], scale=2, allow_custom_value=True)
        profile = gr.Dropdown(label="profile (any: newest run)", choices=[], scale=1, allow_custom_value=True)
        seed = gr.Dropdown(label="seed (any: newest run)", choices=[], scale=1, allow_custom_value=True)
        metric = gr.Dropdown(list(CLASSIFICATION_METRICS), value="balanced_accuracy", label="metric", scale=1)
    note = gr.Markdown()
    with gr.Row():
        bars = gr.Plot(label="gap")
        curves = gr.Plot(label="noise curves")
    umaps = gr.Plot(label="latent UMAPs")
    recon = gr.Plot(label="reconstructions")
    table = gr.Dataframe(label="latent-structure statistics", interactive=False)

    def refresh_choices(chosen_aes, chosen_dataset, chosen_profile, chosen_seed):
        """New choices; what the user chose stays while it is still stored (a refresh after a run finished)."""
        c = compare_choices(home)
        kept = [a for a in chosen_aes or [] if a in c["autoencoder"]]
        keep = lambda k, v: v if v in c[k] else (c[k][0] if c[k] else None)
        return (
            gr.Dropdown(choices=c["autoencoder"], value=kept or c["autoencoder"][:2]),
            gr.Dropdown(choices=c["dataset"], value=keep("dataset", chosen_dataset)),
            gr.Dropdown(choices=c["profile"], value=keep("profile", chosen_profile)),
            gr.Dropdown(choices=c["seed"], value=keep("seed", chosen_seed)),
        )

    choices = [aes, dataset, profile, seed]
    triggers = [app.load] + ([runs_changed.change] if runs_changed is not None else [])
    gr.on(triggers, refresh_choices, inputs=choices, outputs=choices, api_name=False, show_progress="hidden")
    gr.on(
        [tab.select, aes.input, dataset.input, profile.input, seed.input, metric.input],
        lambda a, d, p, s, m: compare_view(home, a, d, p, s, m),
        inputs=[aes, dataset, profile, seed, metric],
        outputs=[bars, curves, umaps, recon, table, note],
        api_name="compare",
    )
