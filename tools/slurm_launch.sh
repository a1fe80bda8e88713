#!/usr/bin/env bash
# srun launcher shared by tools/slurm_train.sh and tools/slurm_test.sh.
#
#   tools/slurm_launch.sh SCRIPT PARTITION JOB_NAME GPUS_ARG [SCRIPT arguments]
#
# Runs tools/SCRIPT as one Slurm task per GPU. GPUS_ARG is the total GPU count
# given on the wrapper's command line, or '' when none was: the count is then
# the environment's GPUS (OpenMMLab's habit: GPUS=32 tools/slurm_train.sh ...),
# else 8; a command line and an environment that disagree are refused.
# GPUS_PER_NODE (default min(GPUS, 8)) must divide it. Environment:
# CPUS_PER_TASK (5), SRUN_ARGS (extra srun options), PYTHON (python).
# Before srun it prints the launch summary (SCRIPT --dry-run: nodes x GPUs per
# node = world size, per-GPU batch, global batch), which also refuses a batch
# that does not split over the GPUs.
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: $0 SCRIPT PARTITION JOB_NAME GPUS_ARG [SCRIPT arguments]" >&2
    exit 2
fi
SCRIPT=$1
PARTITION=$2
JOB_NAME=$3
GPUS_ARG=$4
shift 4
GPUS_ENV=${GPUS:-}
if [ -n "$GPUS_ARG" ] && [ -n "$GPUS_ENV" ] && [ "$GPUS_ARG" != "$GPUS_ENV" ]; then
    echo "error: the environment says GPUS=$GPUS_ENV but the command line says $GPUS_ARG" >&2
    exit 2
fi
GPUS=${GPUS_ARG:-${GPUS_ENV:-8}}
if ! [[ "$GPUS" =~ ^[0-9]+$ ]] || [ "$GPUS" -lt 1 ]; then
    echo "error: GPUS must be a positive integer, got '$GPUS'" >&2
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
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" "$ROOT/tools/$SCRIPT" "$@" --dry-run --world-size "$GPUS" \
    --nnodes $((GPUS / GPUS_PER_NODE))
# SRUN_ARGS is split on spaces on purpose (several options in one variable).
# shellcheck disable=SC2086
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/$SCRIPT" "$@" --launcher slurm
