#!/usr/bin/env bash
# torchrun launcher shared by tools/dist_train.sh and tools/dist_test.sh.
#
#   tools/dist_launch.sh SCRIPT GPUS [SCRIPT arguments]
#
# Runs tools/SCRIPT with its arguments in GPUS processes in total over all
# nodes; each node runs GPUS / NNODES of them (a remainder is refused). Environment: NNODES (default 1), NODE_RANK (0),
# MASTER_ADDR (127.0.0.1), PORT (29500), PYTHON (python).
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 SCRIPT GPUS [SCRIPT arguments]" >&2
    exit 2
fi
SCRIPT=$1
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
    "$ROOT/tools/$SCRIPT" "$@"
