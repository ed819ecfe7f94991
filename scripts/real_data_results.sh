#!/usr/bin/env bash
# The README's real-data table (issue 16): real pretrained AEs (TAEF2, TAESana encoder), the null control and
# mini-zoo stand-ins on real chest X-rays (the embedded default), HAM10000 and COVID-CT (from the data root),
# 600 images each in whole patients / lesions, quick profile, fold 0, seed 0 (SEEDS=0,1,2: three replicates per run),
# one torch thread per run. AES="zoo:null-s2d zoo:taef2" replaces the autoencoders.
# Usage: [SEEDS=0,1,2] [AES="..."] scripts/real_data_results.sh [WORKSPACE] [DATASET ...]. Runs go one after another, autoencoder by autoencoder
# (the real AEs and the control on every set first, the mini-zoo after), so a stopped run still leaves whole rows.
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${1:-workspace-real}"
shift || true
DATASETS=("${@:-chest-xray-pneumonia ham10000 covid-ct}")
read -r -a DATASETS <<< "${DATASETS[*]}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 LATENTGAP_DATA="${LATENTGAP_DATA:-../shared/data}"
read -r -a AES <<< "${AES:-zoo:null-s2d zoo:taef2 zoo:taesana-encoder zoo:sd-vae-mini zoo:flux2-vae-mini zoo:medvae-mini}"
SEEDS="${SEEDS:-0}"
.venv/bin/python -m latentgap results --home "$HOME_DIR" > /dev/null  # the store exists before parallel callers
for ae in "${AES[@]}"; do
  for ds in "${DATASETS[@]}"; do
    /usr/bin/time -f "$ae on $ds: %e s wall, %U s user, %S s system" \
      .venv/bin/python -m latentgap diagnose --ae "$ae" --dataset "$ds" --profile quick --seeds "$SEEDS" --folds 0 \
      --max-samples 600 --home "$HOME_DIR" --device cpu 2> >(tr '\r' '\n' | grep -v '%|' >&2)
  done
done
.venv/bin/python -m latentgap results --home "$HOME_DIR" --kind gap
