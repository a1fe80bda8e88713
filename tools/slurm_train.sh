#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, started by srun
# (tools/slurm_launch.sh).
#
#   [GPUS=N] tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [GPUS] [train.py arguments]
#
# GPUS is the total number of GPUs (positional, else the environment, else 8);
# GPUS_PER_NODE (default min(GPUS, 8)) must divide it. Environment:
# CPUS_PER_TASK (5), SRUN_ARGS (extra srun options), PYTHON (python).
# The official SAR recipe on 4 nodes x 8 GPUs:
#   tools/slurm_train.sh <partition> sar_d16 configs/sar/flexvar_d16_sar.py work_dirs/sar_d16 32
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
GPUS_ARG=''
if [ "$#" -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    GPUS_ARG=$1
    shift
fi
exec "$(dirname "$0")/slurm_launch.sh" train.py "$PARTITION" "$JOB_NAME" "$GPUS_ARG" \
    "$CONFIG" --work-dir="$WORK_DIR" "$@"
