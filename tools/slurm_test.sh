#!/usr/bin/env bash
# Evaluation on a Slurm cluster: one task per GPU, started by srun
# (tools/slurm_launch.sh).
#
#   [GPUS=N] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [GPUS] [test.py arguments]
#
# GPUS is the total number of GPUs (positional, else the environment, else 8);
# GPUS_PER_NODE (default min(GPUS, 8)) must divide it. Environment:
# CPUS_PER_TASK (5), SRUN_ARGS (extra srun options), PYTHON (python).
# FID-50k of converted SAR-d16 weights on 8 GPUs:
#   tools/slurm_test.sh <partition> fid_d16 configs/flexvar/flexvar_d16.py \
#       checkpoints/sar_d16_sarmm.pth 8 --work-dir work_dirs/fid_sar_d16
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [GPUS] [test.py arguments]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
GPUS_ARG=''
if [ "$#" -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    GPUS_ARG=$1
    shift
fi
exec "$(dirname "$0")/slurm_launch.sh" test.py "$PARTITION" "$JOB_NAME" "$GPUS_ARG" \
    "$CONFIG" "$CHECKPOINT" "$@"
