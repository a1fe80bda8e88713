#!/usr/bin/env bash
# Multi-process evaluation with torchrun; mirrors tools/dist_train.sh.
#
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py arguments]
#
# GPUS is the TOTAL number of processes over all nodes; each node runs
# GPUS / NNODES (a remainder is refused). Environment: NNODES (1), NODE_RANK (0),
# MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (python).
set -euo pipefail

if [ "$#" -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT GPUS [test.py arguments]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
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
    "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
