"""Command line: `python -m latentgap VERB ...` (diagnose | results | report | zoo | data | serve).

This is the public contract the dashboard, benchmarks and scale-out reuse. User errors print one line
(`error: ...`) and exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

from latentgap.errors import LatentgapError
from latentgap.spec import resolve_home

EPILOG = "Workspace: --home, else $LATENTGAP_HOME, else ./workspace. Docs: README.md."


def _add_home(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--home",
        help="workspace folder holding the DuckDB store and caches (default: $LATENTGAP_HOME, else ./workspace)",
    )


def build_parser() -> argparse.ArgumentParser:
    from latentgap.autoencoders.zoo import DEFAULT_AE
    from latentgap.datasets.registry import DEFAULT_DATASET
    from latentgap.spec import PROFILES
    from latentgap.tools.bench import RESULTS_DIR
    from latentgap.tools.bench import SECTIONS as BENCH_SECTIONS

    parser = argparse.ArgumentParser(
        prog="python -m latentgap",
        description="Measure the learnability gap of an image autoencoder: train the same classifier on "
        "images, reconstructions and latents, and store every result in DuckDB.",
        epilog=EPILOG,
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser(
        "diagnose",
        help="diagnose an autoencoder on a benchmark",
        epilog=EPILOG,
        description="Encode the benchmark, train image / reconstruction / latent classifiers with "
        "one recipe, and store metrics, gap, fidelity loss, PSNR and SSIM.",
    )
    p.add_argument(
        "--ae",
        default=DEFAULT_AE,
        help=f"zoo:NAME, a diffusers folder, a weights file (.safetensors, "
        f".ckpt; diffusers or LDM keys) or a hub id (default {DEFAULT_AE}); see `inspect`",
    )
    _add_family(p)
    p.add_argument(
        "--vq-latent",
        default="prequant",
        choices=["prequant", "quantized"],
        help="VQ autoencoders: take the latent before the codebook (default) or after it",
    )
    p.add_argument(
        "--latent-norm",
        default="paper",
        choices=["paper", "family"],
        help="paper: each latent channel to mean 0 / std 0.5 over the training split (default); "
        "family: the family's own scaling factor and shift",
    )
    p.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"embedded benchmark name (default {DEFAULT_DATASET}: real chest X-rays; phantom-*: SYNTHETIC), a real "
        "set's name under --data-root (see `data list`) or a dataset file/folder on disk",
    )
    p.add_argument(
        "--format",
        dest="data_format",
        choices=_format_names(),
        help="format of a --dataset path (detected when omitted)",
    )
    p.add_argument("--data-root", help="folder that a manifest's image paths are relative to (default: its folder)")
    p.add_argument(
        "--profile",
        default="quick",
        choices=list(PROFILES),
        help="quick: CPU scale-down (minutes, one replicate); standard: quick x 3 seeds x 5 folds with learning "
        "curves (GPU or a long CPU job); paper: the paper's budget (GPU hours); smoke: seconds, not a measurement",
    )
    _add_home(p)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="default: auto")
    p.add_argument(
        "--seed", type=int, help="seed of classifier initialisation and training order (default 0); splits stay fixed"
    )
    p.add_argument(
        "--seeds",
        help="replicates in one run, e.g. 0,1,2: every (seed, fold) pair trains every arm (fold k trains with "
        "seed + k); gaps are their mean with a two-level bootstrap interval (default: --seed alone)",
    )
    p.add_argument(
        "--train-fractions",
        help="learning curve, e.g. 0.25,0.5,1: every replicate also trains every arm on these nested fractions of "
        "its training split (whole patients; same validation and test split); 1 must be included (default: the "
        "profile's: 0.25,0.5,1 in standard, none otherwise); `results --kind learning` reads them",
    )
    p.add_argument(
        "--arms",
        help="train only these of the profile's arms, e.g. reconstruction-s2d (the matched gap's other side); image "
        "and latent are always trained; gaps whose arms did not run are left empty (default: every arm)",
    )
    p.add_argument("--max-samples", type=int, help="use at most N images (whole patients); for previews and tests")
    p.add_argument(
        "--folds",
        help="'0' or '0,2': those folds of the paper's 5-fold patient-grouped split; 'all'; "
        "'official': the dataset's own split (default: the official split where one exists, else the "
        "profile's folds: 0 in quick, all in paper)",
    )
    p.add_argument(
        "--image-weights",
        help="ResNet backbone weights (.safetensors/.pth; torchvision or latentgap "
        "layout) for the image and reconstruction classifiers, as the paper's ImageNet init; adds an "
        "image-random-init ablation (default: random init)",
    )
    p.add_argument(
        "--latent-weights",
        help="ConvNeXt backbone weights for the latent classifiers (stem replaced for "
        "the latent channels); adds a latent-random-init ablation (default: random init)",
    )
    p.add_argument(
        "--backend",
        default="local",
        choices=["local", "ray"],
        help="local: in this process (default); ray: encoding as Ray Data batch inference and the "
        "classifiers as parallel Ray tasks, same results (pip install -r requirements-ray.txt)",
    )
    p.add_argument(
        "--ray-address",
        help="with --backend ray: join this Ray cluster, 'auto' or HOST:PORT "
        "(default: start a local Ray on this machine's cores)",
    )
    p.add_argument("--json", action="store_true", help="print the run's records as JSON when done")
    p.add_argument(
        "--queue",
        action="store_true",
        help="queue the diagnosis as a dashboard job instead of running it here: the worker that `serve` starts "
        "runs it and the Diagnose tab shows its progress and time left (an identical queued or running job is "
        "not queued twice); prints the job id",
    )

    p = verbs.add_parser(
        "inspect",
        help="detect an autoencoder's family without diagnosing it",
        epilog=EPILOG,
        description="Load an autoencoder (zoo:NAME, folder, weights file or hub id) and print "
        "its family, key layout, latent channels, downsampling factor, parameters and content hash.",
    )
    p.add_argument("ae", metavar="PATH_OR_ID", help="zoo:NAME, a diffusers folder, a weights file or a hub id")
    _add_family(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = verbs.add_parser(
        "results",
        help="print stored results",
        epilog=EPILOG,
        description="Print every stored metric record (one per run, arm or derived quantity, metric, fold).",
    )
    _add_home(p)
    p.add_argument("--json", action="store_true", help="print a JSON list of records instead of a table")
    p.add_argument("--run", help="only this run id")
    p.add_argument(
        "--kind",
        default="metrics",
        choices=list(RESULT_KINDS),
        help="metrics: every metric record (default); gap: one row per run with image / reconstruction "
        "/ latent balanced accuracy, paper, matched and excess gap and fidelity loss with replicate intervals, PSNR "
        "and SSIM; structure: latent-structure statistics; "
        "tests: paired test of latent vs reconstruction per profile (no smoke runs or reruns; replicates averaged "
        "per AE x dataset); "
        "correlation: how each structure statistic correlates with the gap across runs, per profile, with n and "
        "permutation p-values; "
        "training: every classifier's training history (epochs run, best epoch, converged); "
        "learning: learning curves, one row per run, arm and training fraction with the mean over replicates, its "
        "interval and the paper and matched gap at that fraction (runs with --train-fractions or --profile standard)",
    )

    p = verbs.add_parser(
        "report",
        help="write one self-contained HTML report of a run, or of several runs compared",
        epilog=EPILOG,
        description="Write a shareable HTML file of stored runs: the gap table (paper / matched / excess gap with "
        "intervals, replicates, convergence, the null control's flag), PSNR / SSIM, noise and training curves, "
        "UMAPs, the reconstruction grid, and each run's spec, profile, deviations and versions, marked real or "
        "SYNTHETIC. plotly.js and the images are embedded, so it opens offline (about 5 MB).",
    )
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="stored run ids (`results --kind gap` lists them)")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="the HTML file to write (default: <home>/reports/<RUN_ID>.html; several runs: "
        "<home>/reports/compare-<id endings>.html)",
    )
    _add_home(p)

    p = verbs.add_parser(
        "zoo",
        help="list or build the embedded autoencoders",
        epilog=EPILOG,
        description="The embedded mini-zoo: small autoencoders trained by the project itself.",
    )
    zoo_verbs = p.add_subparsers(dest="zoo_verb", required=True, metavar="ACTION")
    q = zoo_verbs.add_parser("list", help="list zoo models with family and model card")
    q.add_argument("--json", action="store_true", help="print JSON")
    q = zoo_verbs.add_parser(
        "build",
        help="(re)train zoo models with their seeded recipe (tens of minutes on CPU)",
        description="Retrain zoo models into data/zoo/ and rewrite their cards. Each model "
        "trains on one CPU thread (its recipe's `threads`), so the weights are bit-identical to "
        "the shipped ones whatever --jobs is.",
    )
    q.add_argument("names", nargs="*", help="zoo model names (default: all)")
    q.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="models built at once, one worker process each (default: the number of CPU cores)",
    )

    p = verbs.add_parser(
        "data",
        help="list the embedded benchmarks or inspect a dataset on disk",
        epilog=EPILOG,
        description="Embedded benchmarks (real chest X-rays shipped with latentgap; SYNTHETIC phantoms generated "
        "by seeded code), and what a real dataset on disk would give.",
    )
    data_verbs = p.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    q = data_verbs.add_parser("list", help="list embedded benchmarks and the real datasets latentgap reads by name")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.add_argument(
        "--data-root",
        help="folder holding the real datasets in their upstream layouts "
        "(default: $LATENTGAP_DATA); each is listed with available true/false",
    )
    q = data_verbs.add_parser(
        "inspect",
        help="what a dataset file/folder would give: format, classes, groups, duplicates, split, warnings",
        description="Read every image of a dataset on disk "
        "(to hash it for exact duplicates; nothing is resized or written) and print its "
        "format, images per class, patient groups, duplicate images, official split and "
        "warnings.",
    )
    q.add_argument(
        "path",
        metavar="PATH",
        help="a dataset file or folder, or a dataset name (`data list`): a real set is looked up under $LATENTGAP_DATA",
    )
    q.add_argument("--format", dest="data_format", choices=_format_names(), help="its format (detected when omitted)")
    q.add_argument("--data-root", help="folder that a manifest's image paths are relative to (default: its folder)")
    q.add_argument(
        "--labels", help="label scheme where a format has several (chest-xray: normal-pneumonia, normal-bacteria-virus)"
    )
    q.add_argument("--json", action="store_true", help="print JSON")

    p = verbs.add_parser(
        "worker",
        help="run queued dashboard jobs (the app starts one itself)",
        epilog=EPILOG,
        description="Claim diagnosis jobs queued in the store (by the dashboard) and run them one "
        "at a time; `serve` starts and supervises one worker, so this is for extra or remote workers.",
    )
    _add_home(p)
    p.add_argument("--parent-pid", type=int, help="exit when this process (the app) exits")
    p.add_argument("--max-jobs", type=int, help="exit after this many jobs (default: run until stopped)")

    p = verbs.add_parser(
        "selfcheck",
        help="inject faults and hostile input, report what held (a few minutes)",
        epilog=EPILOG,
        description="Run the reliability scenarios (killed worker and app, out of "
        "memory, full disk, read-only and damaged stores, 20 concurrent jobs, hostile checkpoints, "
        "images and upload names) against a temporary workspace; exit 1 if any fails or a finished "
        "result was lost.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (counts and every scenario's outcome)")
    p.add_argument(
        "--scenario",
        action="append",
        metavar="NAME",
        help="run only this scenario (repeatable; "
        "default: all): kill-worker, kill-app, oom, disk-full, read-only, concurrent-jobs, stores, "
        "checkpoints, fuzz, images, uploads, non-finite",
    )

    p = verbs.add_parser(
        "serve",
        help="serve the dashboard",
        epilog=EPILOG,
        description="Serve the Gradio dashboard over the store in --home.",
    )
    _add_home(p)
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument(
        "--port",
        type=int,
        default=os.environ.get("LATENTGAP_PORT", "7860"),
        help="port (default: $LATENTGAP_PORT, else 7860)",
    )
    p.add_argument(
        "--auth",
        default=os.environ.get("LATENTGAP_AUTH"),
        help="require a login, USER:PASSWORD (default: $LATENTGAP_AUTH; none on 127.0.0.1)",
    )
    p.add_argument("--max-upload-mb", type=float, default=2048, help="largest checkpoint upload (default 2048 MB)")

    p = verbs.add_parser(
        "bench",
        help="measure latentgap's performance (latent vs image classifiers, encoder, ...)",
        epilog=EPILOG,
        description="Time latent vs image classifiers (the paper's 64x / 120x claim), "
        "the encoder, UMAP projection, the store, the dashboard under load and one diagnosis, as "
        "medians and ratios in one run; write JSON and print the tables (benchmarks/README.md).",
    )
    p.add_argument("--quick", action="store_true", help="fewer repetitions and sizes: under 10 minutes on a 2-core CPU")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="default: auto")
    p.add_argument(
        "--json",
        dest="json_out",
        metavar="OUT",
        help="results file (default benchmarks/results/<device>-<quick|full>.json)",
    )
    p.add_argument("--sections", help=f"comma-separated subset of: {', '.join(BENCH_SECTIONS)} (default: all)")
    p.add_argument("--note", help="free text stored with the machine info (e.g. 'cores shared with other jobs')")
    p.add_argument(
        "--pyinstrument", metavar="FILE", help="profile the end-to-end diagnosis and write the call tree here"
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="only render benchmarks/README.md and README.md's "
        "Performance table from the stored results in --results-dir",
    )
    p.add_argument(
        "--results-dir", default=str(RESULTS_DIR), help="stored results (default: the repo's benchmarks/results)"
    )
    return parser


def _add_family(p: argparse.ArgumentParser) -> None:
    from latentgap.autoencoders.families import FAMILIES

    p.add_argument(
        "--family",
        choices=list(FAMILIES),
        help="override the detected family (SD vs SDXL and "
        "FLUX.1 vs SD3 share an architecture: detection picks the first)",
    )


def _format_names() -> list[str]:
    from latentgap.datasets.formats import FORMATS

    return list(FORMATS)


def _records(df) -> list[dict]:
    """DataFrame -> JSON-safe records (NaN -> null, timestamps -> ISO strings)."""
    out = []
    for rec in df.to_dict(orient="records"):
        for k, v in rec.items():
            if isinstance(v, float) and math.isnan(v):
                rec[k] = None
            elif hasattr(v, "isoformat"):
                rec[k] = v.isoformat()
            elif hasattr(v, "item"):
                rec[k] = v.item()
        out.append(rec)
    return out


def _local_path(value: str | None) -> str | None:
    """An existing file or folder as an absolute path (a queued job runs in the worker's folder); anything else
    (a zoo name, a hub id, a benchmark name, even where a folder of that name sits here) unchanged."""
    from pathlib import Path

    from latentgap.datasets.registry import BENCHMARKS

    if not value or value.startswith("zoo:") or value in BENCHMARKS or not Path(value).expanduser().exists():
        return value
    return str(Path(value).expanduser().resolve())


def _queue(spec, home) -> int:
    from pathlib import Path

    from latentgap.jobs import queue_diagnosis
    from latentgap.store import Store

    source = Path(spec.autoencoder)
    label = spec.label or (source.name if source.is_absolute() else spec.autoencoder)  # no server paths on the page
    job_id, new = queue_diagnosis(
        Store(resolve_home(home)), spec, f"{label} · {spec.dataset} · {spec.profile} · seed {spec.seed}"
    )
    print(job_id)
    print(
        f"{'queued' if new else 'already queued or running'}: {label} on {spec.dataset} ({spec.profile} profile); "
        "`python -m latentgap serve` runs it, its Diagnose tab shows progress and time left",
        file=sys.stderr,
    )
    return 0


def cmd_diagnose(args) -> int:
    from latentgap.diagnose import diagnose
    from latentgap.spec import DiagnosisSpec
    from latentgap.store import Store

    if args.seed is not None and args.seeds is not None:
        raise LatentgapError("give --seed N (one replicate per fold) or --seeds LIST (several), not both")
    if args.queue:
        for name in ("ae", "dataset", "data_root", "image_weights", "latent_weights"):
            setattr(args, name, _local_path(getattr(args, name)))
    spec = DiagnosisSpec(
        autoencoder=args.ae,
        dataset=args.dataset,
        profile=args.profile,
        seed=0 if args.seed is None else args.seed,
        seeds=args.seeds,
        train_fractions=args.train_fractions,
        only_arms=args.arms,
        device=args.device,
        max_samples=args.max_samples,
        data_format=args.data_format,
        data_root=args.data_root,
        folds=args.folds,
        family=args.family,
        vq_latent=args.vq_latent,
        latent_norm=args.latent_norm,
        image_weights=args.image_weights,
        latent_weights=args.latent_weights,
        backend=args.backend,
        ray_address=args.ray_address,
    )
    if args.queue:
        return _queue(spec, args.home)
    run_id = diagnose(spec, args.home, on_step=lambda name, frac: print(f"[latentgap] {name}", file=sys.stderr))
    store = Store(resolve_home(args.home))
    gap = store.gap_table().query("run_id == @run_id").iloc[0]

    import pandas as pd

    def show(value, signed=False):
        return "n/a" if pd.isna(value) else f"{value:+.3f}" if signed else f"{value:.3f}"  # null: not available

    def interval(low, high):
        return "" if pd.isna(low) else f" [{low:+.3f}, {high:+.3f}]"

    print(
        f"run {run_id} ({gap.n_replicates} replicates: seeds {gap.seeds}, folds {gap.folds}; means): balanced "
        f"accuracy image {show(gap.image)} | reconstruction {show(gap.reconstruction)} | latent {show(gap.latent)} | "
        f"gap {show(gap.gap, True)}{interval(gap.gap_ci_low, gap.gap_ci_high)} | "
        f"fidelity loss {show(gap.fidelity_loss, True)}"
    )
    if pd.isna(gap.reconstruction):
        print("  no reconstruction: encoder-only autoencoder (reconstruction arms and fidelity loss not available)")
    if not pd.isna(gap.matched_gap):  # the profile ran the matched-architecture arms
        print(
            f"  matched gap (same ConvNeXt on pixel-unshuffled reconstructions vs latents) {gap.matched_gap:+.3f} "
            f"[{gap.matched_gap_ci_low:+.3f}, {gap.matched_gap_ci_high:+.3f}]"
        )
    if reused := store.run_spec(run_id)["summary"].get("arms_reused"):
        print(f"  reused from an earlier run on the same data, profile and seed (not retrained): {', '.join(reused)}")
    if args.json:
        print(json.dumps(_records(store.results(run_id)), indent=1))
    return 0


def _tests(store):
    """The paired test of latent vs reconstruction, one row per measured (non-smoke) profile and metric."""
    import pandas as pd

    from latentgap.stats import measured_profiles, paired_test, select_pairs

    rows = []
    for profile in measured_profiles(store.runs()):
        for metric in ("balanced_accuracy", "auroc", "mcc"):
            pairs = select_pairs(store.paired_scores(metric, "latent", "reconstruction"), profile)
            test = paired_test(pairs)
            rows.append(dict(profile=profile, comparison="latent - reconstruction", metric=metric, **test))
    return pd.DataFrame(rows)


def _correlation(store):
    """Structure statistics vs the paper gap across runs, one block per measured (non-smoke) profile."""
    import pandas as pd

    from latentgap.stats import measured_profiles, structure_gap_correlation

    gap, structure, blocks = store.gap_table(), store.structure(), []
    for profile in measured_profiles(store.runs()):
        block = structure_gap_correlation(structure, gap[gap.profile == profile])
        block.insert(0, "profile", profile)
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def _learning(store):
    """One row per run, arm and training fraction: the learning curves with the gaps at each fraction."""
    from latentgap.gaps import learning_report

    return learning_report(store.learning_curve())


def _gap(store):
    """One row per run: the gap table joined with reconstruction PSNR / SSIM."""
    fid = store.fidelity().pivot_table(index="run_id", columns="metric", values="value").reset_index()
    gap = store.gap_report()
    return gap.merge(fid, on="run_id", how="left") if not fid.empty else gap


RESULT_KINDS = {
    "metrics": lambda store: store.results(),
    "gap": _gap,
    "structure": lambda store: store.structure(),
    "tests": _tests,
    "correlation": _correlation,
    "training": lambda store: store.training().assign(space=lambda d: d.arm),  # `space`: the name before v5
    "learning": _learning,
}


def cmd_results(args) -> int:
    from latentgap.store import Store

    df = RESULT_KINDS[args.kind](Store(resolve_home(args.home)))
    if args.run and "run_id" in df:
        df = df[df.run_id == args.run]
    if args.json:
        print(json.dumps(_records(df), indent=1))
    elif df.empty and args.kind == "learning":
        print(
            "no learning curves yet: run `python -m latentgap diagnose --train-fractions 0.25,0.5,1` "
            "(or --profile standard)"
        )
    elif df.empty and args.kind in ("tests", "correlation"):
        print("no measured runs yet (smoke runs are left out): run `python -m latentgap diagnose --profile quick`")
    elif df.empty:
        print("no results yet: run `python -m latentgap diagnose`")
    else:
        cols = [c for c in df.columns if c not in ("created_at", "family", "synthetic", "history")]
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def cmd_report(args) -> int:
    from latentgap.report import write_report

    path = write_report(resolve_home(args.home), args.run_ids, args.out)
    print(f"report of {len(set(args.run_ids))} run(s): {path}")
    return 0


def cmd_inspect(args) -> int:
    from latentgap.autoencoders.loading import load_autoencoder

    info = load_autoencoder(args.ae, family=args.family).describe()
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        alt = (
            f" (same architecture as {', '.join(info['alternatives'])}: --family to choose)"
            if info["alternatives"]
            else ""
        )
        print(
            f"{info['name']}: family {info['family']}{alt}, {info['layout']} keys, {info['latent_channels']} latent "
            f"channels, f{info['downsampling_factor']}, {info['parameters']:,} parameters, hash {info['hash']}"
        )
        for note in info["notes"]:
            print(f"  - {note}")
    return 0


def cmd_zoo(args) -> int:
    from latentgap.autoencoders import zoo
    from latentgap.tools import zoo_build

    if args.zoo_verb == "list":
        models = [zoo.describe(name) for name in zoo.ZOO]
        if args.json:
            print(json.dumps(models, indent=1))
        else:
            for m in models:
                built = "built" if m["built"] else "NOT BUILT (run `zoo build`)"
                print(f"zoo:{m['name']:<16} family={m['family']:<10} {built}  {m['description']}")
        return 0
    if args.jobs < 1:
        raise LatentgapError(f"--jobs {args.jobs}: give at least 1")
    trainable = [n for n, m in zoo.ZOO.items() if m.source == "trained"]
    names = args.names or trainable
    for name in names:
        if zoo.get_zoo_model(name).source != "trained":  # unknown names fail here too, before any training starts
            raise LatentgapError(
                f"zoo:{name} is not trained by latentgap (it ships as {zoo.get_zoo_model(name).source}); "
                f"build one of: {', '.join(trainable)}"
            )
    print(f"building {len(names)} zoo model(s) with {args.jobs} job(s) ...", file=sys.stderr)
    zoo_build.build_all(names, jobs=args.jobs, log=lambda line: print(line, file=sys.stderr))
    return 0


def cmd_data(args) -> int:
    from latentgap.datasets import registry

    if args.data_verb == "inspect":
        return _inspect_data(args)
    from latentgap.datasets import real

    items = [dict(registry.describe(name), available=True) for name in registry.BENCHMARKS]  # embedded: always
    reals = [real.describe(name, args.data_root) for name in real.REAL_SETS]
    if args.json:
        print(json.dumps(items + reals, indent=1))
    else:
        for b in items:
            print(f"{b['name']:<25} {len(b['classes'])} classes, {b['default_size']} images, {b['modality']}")
        for r in reals:
            where = r["path"] if r["available"] else f"NOT AVAILABLE: get {r['upstream']} (doi:{r['doi']})"
            print(f"{r['name']:<25} real, {r['modality']} ({r['format']} layout): {where}")
    return 0


def _dataset_path(name_or_path: str) -> str:
    """`data inspect` also takes a dataset's name: a shipped real set's folder, or a real set under the data root."""
    from pathlib import Path

    from latentgap.datasets import embedded
    from latentgap.datasets.benchmark import BENCHMARKS
    from latentgap.datasets.real import REAL_SETS, locate

    if Path(name_or_path).expanduser().exists():
        return name_or_path
    if name_or_path in REAL_SETS:
        return str(locate(name_or_path))  # $LATENTGAP_DATA; a one-line error says where to get it
    bench = BENCHMARKS.get(name_or_path)
    if bench is not None and bench.folder:
        return str(embedded.folder(bench))
    return name_or_path  # inspect_path names the missing path


def _inspect_data(args) -> int:
    from latentgap.datasets.formats import inspect_path

    info = inspect_path(_dataset_path(args.path), args.data_format, args.data_root, args.labels)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(
        f"{info['path']}: {info['format']}, {info['images']:,} images in {info['groups']:,} groups, "
        f"{info['duplicate_images']} duplicate images, read in {info['seconds']} s"
    )
    print("  classes: " + ", ".join(f"{name} {n:,}" for name, n in info["classes"].items()))
    split = info["official_split"] or info["split_on_disk"]
    if split:
        used = "official split" if info["official_split"] else "split on disk, not used (see warnings)"
        print(f"  {used}: " + ", ".join(f"{part} {n:,}" for part, n in split.items() if n))
    else:
        print("  no official split")
    for line in info["warnings"]:
        print(f"  warning: {line}")
    return 0


def cmd_worker(args) -> int:
    from latentgap.jobs import work

    ran = work(resolve_home(args.home), parent_pid=args.parent_pid, max_jobs=args.max_jobs)
    print(f"worker ran {ran} job(s)", file=sys.stderr)
    return 0


def cmd_selfcheck(args) -> int:
    from latentgap.tools.selfcheck import SCENARIOS, selfcheck

    unknown = sorted(set(args.scenario or ()) - set(SCENARIOS))
    if unknown:
        raise LatentgapError(f"unknown scenario {unknown[0]!r}; choose from {', '.join(SCENARIOS)}")

    def show(o) -> None:
        state = "skipped" if o.skipped else "ok" if o.passed else "FAILED"
        print(f"{state:>7}  {o.name} ({o.handled}/{o.tried}, {o.seconds:.0f} s)", file=sys.stderr)
        for line in ([o.skipped] if o.skipped else o.detail) if not args.json else ():
            print(f"           {line}", file=sys.stderr)

    report = selfcheck(args.scenario, on_done=show)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(
            f"faults survived {report['faults_survived']}/{report['faults_injected']}, hostile inputs refused "
            f"{report['inputs_refused_correctly']}, valid inputs read {report['inputs_read_correctly']} "
            f"(of {report['inputs_tried']} tried), results lost {report['results_lost']}, "
            f"{report['seconds']:.0f} s"
        )
    return 0 if report["passed"] else 1


def cmd_serve(args) -> int:
    from latentgap.ui import launch

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not (user and sep and password):
            raise LatentgapError("--auth must be USER:PASSWORD (or set LATENTGAP_AUTH)")
        auth = (user, password)
    try:
        launch(resolve_home(args.home), host=args.host, port=args.port, auth=auth, max_upload_mb=args.max_upload_mb)
    except OSError as e:
        if "empty port" not in str(e):
            raise
        raise LatentgapError(
            f"port {args.port} on {args.host} is in use: pass --port (or set LATENTGAP_PORT) with a free one"
        ) from None
    return 0


def cmd_bench(args) -> int:
    from pathlib import Path

    from latentgap.tools.bench import SECTIONS, load_results, run_bench, write_results
    from latentgap.tools.bench.report import render, render_all, update_readme

    if not args.report:
        sections = tuple(s.strip() for s in args.sections.split(",")) if args.sections else SECTIONS
        results = run_bench(
            args.quick,
            args.device,
            sections,
            note=args.note,
            pyinstrument=args.pyinstrument,
            on_section=lambda msg: print(msg, file=sys.stderr),
        )
        path = write_results(results, args.json_out)
        print(render(path.stem, results))
        print(f"results: {path}", file=sys.stderr)
        return 0
    results = load_results(Path(args.results_dir))
    if not results:
        raise LatentgapError(f"no results in {args.results_dir}; run `python -m latentgap bench --quick` first")
    out = Path(args.results_dir).parent / "README.md"
    out.write_text(render_all(results) + "\n")
    main_readme = Path(args.results_dir).parent.parent / "README.md"  # the project README beside benchmarks/
    readme = "README.md updated" if main_readme.exists() and update_readme(main_readme, results) else ""
    print(f"wrote {out}" + (f"; {readme}" if readme else ""), file=sys.stderr)
    return 0


COMMANDS = {
    "diagnose": cmd_diagnose,
    "inspect": cmd_inspect,
    "results": cmd_results,
    "report": cmd_report,
    "zoo": cmd_zoo,
    "data": cmd_data,
    "worker": cmd_worker,
    "serve": cmd_serve,
    "selfcheck": cmd_selfcheck,
    "bench": cmd_bench,
}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on an unreachable hub
    args = build_parser().parse_args(argv)
    try:
        code = COMMANDS[args.verb](args)
        sys.stdout.flush()  # inside the try: a reader that went away (`| head`) is seen here, not at exit
        return code
    except LatentgapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was written for the unfinished run", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _reader_went_away()


def _reader_went_away() -> int:
    """Exit quietly when stdout's reader closed the pipe (`results | head`), as the Python docs' "Note on SIGPIPE"
    advises: point stdout at devnull so the exit flush cannot fail again. 141 = 128 + SIGPIPE, as shells report."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
