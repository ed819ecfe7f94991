"""Print a workspace's gap results as the README's markdown table (what `results --kind gap --json` gives, formatted).

Usage: python scripts/gap_markdown.py HOME [--profile quick]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

CONTROLS = {"zoo:null-s2d", "zoo:null-s2d-rot", "zoo:null-s2d-flow", "zoo:blur-f8"}


def interval(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    return f"{value:+.3f} [{low:+.3f}, {high:+.3f}]" if low is not None else f"{value:+.3f}"


def score(row: dict, key: str) -> str:
    value = row.get(key)
    return "n/a" if value is None else f"{value:.3f}"


def fidelity(row: dict) -> str:
    return "n/a (encoder only)" if row.get("psnr") is None else f"{row['psnr']:.1f} dB / {row['ssim']:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    out = subprocess.run(
        [sys.executable, "-m", "latentgap", "results", "--home", args.home, "--kind", "gap", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = sorted(
        (r for r in json.loads(out.stdout) if r["profile"] == args.profile),
        key=lambda r: (r["dataset"], r["control_run_id"] is not None, r["autoencoder"]),
    )
    print(
        "| dataset | autoencoder | replicates | image | reconstruction | latent | paper gap [95 % CI] "
        "| matched gap [95 % CI] | excess gap [95 % CI] | fidelity loss | PSNR / SSIM | converged | flag |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        control = " (control)" if r["autoencoder"] in CONTROLS else ""
        print(
            f"| {r['dataset']} | `{r['autoencoder']}`{control} | {r['n_replicates']} | {score(r, 'image')} "
            f"| {score(r, 'reconstruction')} "
            f"| {score(r, 'latent')} | {interval(r, 'paper_gap')} | {interval(r, 'matched_gap')} "
            f"| {interval(r, 'excess_gap') if r['autoencoder'] != 'zoo:null-s2d' else '—'} | {interval(r, 'fidelity_loss')} | {fidelity(r)} "
            f"| {'yes' if r['converged'] else 'no'} | {r['flag'] or ''} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
