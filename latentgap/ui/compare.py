"""Compare tab: two or more autoencoders on the same benchmark, profile and seed — gap bars, noise curves, latent
UMAPs, reconstructions and latent-structure statistics side by side (the newest matching run of each)."""

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


def compare_choices(home: Path) -> dict[str, list]:
    """What can be compared: stored autoencoders, benchmarks, profiles and seeds."""
    from latentgap.store import Store

    runs = Store(home).runs()
    return {k: sorted(runs[k].unique().tolist()) for k in ("autoencoder", "dataset", "profile", "seed")}


def matching_runs(runs: pd.DataFrame, autoencoders: list[str], dataset: str, profile: str, seed: int) -> pd.DataFrame:
    """The newest run of each autoencoder on (dataset, profile, seed), in the order the user picked them."""
    m = runs[
        runs.autoencoder.isin(autoencoders)
        & (runs.dataset == dataset)
        & (runs.profile == profile)
        & (runs.seed == int(seed))
    ]
    newest = m.sort_values("created_at", ascending=False).drop_duplicates("autoencoder")
    return (
        newest.set_index("autoencoder").reindex([a for a in autoencoders if a in set(newest.autoencoder)]).reset_index()
    )


def compare_view(home: Path, autoencoders: list[str], dataset: str, profile: str, seed: int, metric: str):
    """(gap bars, noise curves, latent UMAPs, reconstruction grid, structure table, note) for the chosen runs."""
    from latentgap.gallery import load_gallery
    from latentgap.plots import compare_noise_curves, gap_bars, reconstruction_grid, umap_grid
    from latentgap.store import Store

    store = Store(home)
    runs = matching_runs(store.runs(), autoencoders or [], dataset, profile, seed) if dataset else pd.DataFrame()
    ids = runs.run_id.tolist() if not runs.empty else []
    missing = sorted(set(autoencoders or []) - set(runs.autoencoder if ids else []))
    note = f"{len(ids)} runs compared" + (
        f"; no {dataset} / {profile} / seed {seed} run for: {', '.join(missing)}" if missing else ""
    )
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


def build_compare_tab(app, home: Path, tab) -> None:
    import gradio as gr

    from latentgap.metrics import CLASSIFICATION_METRICS

    with gr.Row():
        aes = gr.Dropdown(
            label="autoencoders (two or more)", choices=[], multiselect=True, scale=3, allow_custom_value=True
        )
        dataset = gr.Dropdown(label="benchmark", choices=[], scale=2, allow_custom_value=True)
        profile = gr.Dropdown(label="profile", choices=[], scale=1, allow_custom_value=True)
        seed = gr.Dropdown(label="seed", choices=[], scale=1, allow_custom_value=True)
        metric = gr.Dropdown(list(CLASSIFICATION_METRICS), value="balanced_accuracy", label="metric", scale=1)
    note = gr.Markdown()
    with gr.Row():
        bars = gr.Plot(label="gap")
        curves = gr.Plot(label="noise curves")
    umaps = gr.Plot(label="latent UMAPs")
    recon = gr.Plot(label="reconstructions")
    table = gr.Dataframe(label="latent-structure statistics", interactive=False)

    def refresh_choices():
        c = compare_choices(home)
        pick = lambda k: c[k][0] if c[k] else None
        return (
            gr.Dropdown(choices=c["autoencoder"], value=c["autoencoder"][:2]),
            gr.Dropdown(choices=c["dataset"], value=pick("dataset")),
            gr.Dropdown(choices=c["profile"], value="quick" if "quick" in c["profile"] else pick("profile")),
            gr.Dropdown(choices=c["seed"], value=pick("seed")),
        )

    app.load(refresh_choices, outputs=[aes, dataset, profile, seed], api_name=False)
    gr.on(
        [tab.select, aes.input, dataset.input, profile.input, seed.input, metric.input],
        lambda a, d, p, s, m: compare_view(home, a, d, p, s if s is not None else 0, m),
        inputs=[aes, dataset, profile, seed, metric],
        outputs=[bars, curves, umaps, recon, table, note],
        api_name="compare",
    )
