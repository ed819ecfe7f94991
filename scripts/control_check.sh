#!/usr/bin/env bash
# The null control beside real autoencoders, quick profile, one thread each run (about 6-10 min per run on this CPU):
# the lossless pixel-unshuffle control must show a matched gap near 0; its paper-protocol gap shows how much of the
# paper's number is the network difference. Usage: scripts/control_check.sh [WORKSPACE] [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${1:-workspace-controls}"
SEEDS="${2:-0}"
DATA="${LATENTGAP_DATA:-../shared/data}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
run() { .venv/bin/python -m latentgap diagnose --profile quick --home "$HOME_DIR" --device cpu "$@" 2> >(tr '\r' '\n' | grep -v '%|' >&2); }
for seed in ${SEEDS//,/ }; do
  run --ae zoo:null-s2d --dataset phantom-chest --seed "$seed"
  run --ae zoo:sd-vae-mini --dataset phantom-chest --seed "$seed"
  # real chest X-rays (Kermany, read from its upstream layout), 2,400 images in whole patients
  run --ae zoo:null-s2d --dataset "$DATA/chest-xray-pneumonia" --max-samples 2400 --seed "$seed"
  run --ae zoo:taef2 --dataset "$DATA/chest-xray-pneumonia" --max-samples 2400 --seed "$seed"
done
.venv/bin/python -m latentgap results --home "$HOME_DIR" --kind gap
