#!/usr/bin/env bash
# Multi-process training with torchrun (tools/dist_launch.sh).
#
#   tools/dist_train.sh CONFIG GPUS [train.py arguments]
#
# GPUS is the TOTAL number of processes over all nodes (OpenMMLab's script takes
# GPUs per node). Each node runs GPUS / NNODES processes; a remainder is refused.
# Environment: NNODES (default 1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (python). A config for GPUs (NCCL) refuses to start
# without CUDA; to train on CPUs, pass --cfg-options env_cfg.dist_cfg.backend=gloo.
#
# Two nodes x 8 GPUs, on each node:
#   NNODES=2 NODE_RANK=<0|1> MASTER_ADDR=<node 0 address> tools/dist_train.sh CONFIG 16
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
exec "$(dirname "$0")/dist_launch.sh" train.py "$GPUS" "$CONFIG" --launcher pytorch "$@"
