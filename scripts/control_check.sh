#!/usr/bin/env bash
# The control protocol of tests/autoencoders/test_control_answers_*.py, as a measurement with its numbers kept:
# the lossless controls (null-s2d, -rot, -flow) on the SYNTHETIC phantom-ct and phantom-chest must show a matched gap
# within ±0.03 whose interval holds 0; the blurring control (blur-f8) on phantom-derm a matched fidelity loss > 0.1.
# Quick profile, seeds 0,1,2, only the arms each answer needs (--arms), one torch thread per run; the image arms are
# trained once per dataset and seed and reused across controls (arm cache).
# Usage: scripts/control_check.sh [WORKSPACE] [DATASETS]
#   default: workspace-controls "phantom-ct phantom-chest phantom-derm" (phantom-derm: the blurring control)
set -euo pipefail
cd "$(dirname "$0")/.."
HOME_DIR="${1:-workspace-controls}"
DATASETS="${2:-phantom-ct phantom-chest phantom-derm}"
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
run() { .venv/bin/python -m latentgap diagnose --profile quick --home "$HOME_DIR" --device cpu --seeds 0,1,2 "$@" 2> >(tr '\r' '\n' | grep -v '%|' >&2); }
for dataset in $DATASETS; do
  if [ "$dataset" = phantom-derm ]; then
    run --ae zoo:blur-f8 --dataset phantom-derm --arms image-s2d,reconstruction-s2d
    continue
  fi
  for ae in null-s2d null-s2d-rot null-s2d-flow; do
    run --ae "zoo:$ae" --dataset "$dataset" --arms reconstruction-s2d
  done
done
.venv/bin/python -m latentgap results --home "$HOME_DIR" --kind gap
