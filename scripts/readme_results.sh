#!/usr/bin/env bash
# Re-measure the README's results tables: every embedded (SYNTHETIC) benchmark x two autoencoder families, quick
# profile, seed 0, fold 0 of the paper's split. Two diagnoses run side by side on one thread each (about 35 min on
# a 2-core CPU). Usage: scripts/readme_results.sh [WORKSPACE] [AE ...]
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${1:-workspace-readme}"
shift || true
AES=("${@:-zoo:sd-vae-mini zoo:flux1-vae-mini}")
read -r -a AES <<< "${AES[*]}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# create the store before the parallel runs: two processes creating one DuckDB file at once can fail
.venv/bin/python -m latentgap results --home "$HOME_DIR" > /dev/null
for ae in "${AES[@]}"; do
  (
    for ds in phantom-chest phantom-derm phantom-ct phantom-echo; do
      .venv/bin/python -m latentgap diagnose --ae "$ae" --dataset "$ds" --profile quick --seed 0 --home "$HOME_DIR" \
        2> >(tr '\r' '\n' | grep -v '%|' >&2)  # progress bars out, messages (errors too) kept
    done
  ) &
done
wait
.venv/bin/python -m latentgap results --home "$HOME_DIR" --kind gap
