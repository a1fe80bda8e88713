#!/usr/bin/env bash
# One GPU check of sar_mm in at most ten minutes on one GPU: d16 TF / SAR training
# steps (fp16 + GradScaler, batch 24, 512 px), training memory of d20 / d24 / d30,
# sampling throughput with and without batch_invariant, a 100-image FID through
# tools/test.py. Parts, limits and the JSON: tools/analysis_tools/gpu_check.py.
#
#   bash tools/analysis_tools/gpu_check.sh [--out OUT.json] [--budget-s 580]
#       [--parts train_d16,memory,sample,fid100] [--cpu-smoke]
#
# Runs from a bare checkout (the repository goes on PYTHONPATH); PYTHON (python)
# selects the interpreter. The report goes to --out, else $OUT/gpu_check.json,
# else ./gpu_check.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" "$ROOT/tools/analysis_tools/gpu_check.py" "$@"
