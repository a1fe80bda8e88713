#!/usr/bin/env bash
# Multi-process training with torchrun.
#
#   tools/dist_train.sh CONFIG GPUS [train.py arguments]
#
# GPUS is the TOTAL number of processes over all nodes (OpenMMLab's script takes
# GPUs per node). Each node runs GPUS / NNODES processes; a remainder is refused.
# Environment: NNODES (default 1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (python). Without GPUs the processes train on CPU (gloo).
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
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-29500}
PYTHON=${PYTHON:-python}

for pair in "GPUS=$GPUS" "NNODES=$NNODES" "NODE_RANK=$NODE_RANK" "PORT=$PORT"; do
    if ! [[ "${pair#*=}" =~ ^[0-9]+$ ]]; then
        echo "error: ${pair%%=*} must be a non-negative integer, got '${pair#*=}'" >&2
        exit 2
    fi
done
if [ "$GPUS" -lt 1 ] || [ "$NNODES" -lt 1 ]; then
    echo "error: GPUS and NNODES must be at least 1 (GPUS=$GPUS, NNODES=$NNODES)" >&2
    exit 2
fi
if [ $((GPUS % NNODES)) -ne 0 ]; then
    echo "error: GPUS=$GPUS is the total over all nodes and must be divisible by" \
         "NNODES=$NNODES (got a remainder of $((GPUS % NNODES)))" >&2
    exit 2
fi
GPUS_PER_NODE=$((GPUS / NNODES))

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS_PER_NODE" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
