#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, started by srun.
#
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [GPUS] [train.py arguments]
#
# GPUS (default 8) is the total number of GPUs; GPUS_PER_NODE (default
# min(GPUS, 8)) must divide it. Environment: CPUS_PER_TASK (5), SRUN_ARGS
# (extra srun options), PYTHON (python).
# The official SAR recipe: tools/slurm_train.sh <partition> sar_d16 \
#     configs/sar/<config>.py work_dirs/sar_d16 32
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG WORK_DIR [GPUS] [train.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=8
if [ "$#" -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    GPUS=$1
    shift
fi
if [ "$GPUS" -lt 1 ]; then
    echo "error: GPUS must be at least 1, got $GPUS" >&2
    exit 2
fi
GPUS_PER_NODE=${GPUS_PER_NODE:-$((GPUS < 8 ? GPUS : 8))}
if [ $((GPUS % GPUS_PER_NODE)) -ne 0 ]; then
    echo "error: GPUS=$GPUS is not divisible by GPUS_PER_NODE=$GPUS_PER_NODE" >&2
    exit 2
fi
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# SRUN_ARGS is split on spaces on purpose (several options in one variable).
# shellcheck disable=SC2086
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "$@"
