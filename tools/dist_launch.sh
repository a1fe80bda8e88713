#!/usr/bin/env bash
# torchrun launcher shared by tools/dist_train.sh and tools/dist_test.sh.
#
#   tools/dist_launch.sh SCRIPT GPUS [SCRIPT arguments]
#
# Runs tools/SCRIPT with its arguments in GPUS processes in total over all
# nodes; each node runs GPUS / NNODES of them (a remainder is refused).
# Environment: NNODES (default 1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# PORT (29500), PYTHON (python), ALLOW_PARTIAL_NODE (0).
#
# Before starting torchrun it prints one summary line, from
# `SCRIPT ... --dry-run --world-size GPUS --nnodes NNODES` (nodes x processes per
# node = world size, per-GPU batch, global batch), which also refuses a config
# that cannot run at this size. A node with visible GPUs (CUDA_VISIBLE_DEVICES,
# else `nvidia-smi -L`) must run one process per GPU: fewer is refused unless
# ALLOW_PARTIAL_NODE=1 (the usual cause is passing GPUs per node, as OpenMMLab's
# scripts take, where sar_mm takes the total), more is always refused.
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
ALLOW_PARTIAL_NODE=${ALLOW_PARTIAL_NODE:-0}

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

visible_gpus() {  # GPUs this node's processes can see; 0 on a CPU machine
    if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
        local ids=${CUDA_VISIBLE_DEVICES//[[:space:]]/}
        if [ -z "$ids" ] || [ "$ids" = "-1" ]; then echo 0; else
            awk -F, '{print NF}' <<< "$ids"; fi
    elif command -v nvidia-smi > /dev/null 2>&1; then
        nvidia-smi -L 2> /dev/null | grep -c '^GPU' || true
    else
        echo 0
    fi
}
VISIBLE=$(visible_gpus)
if [ "$VISIBLE" -gt 0 ]; then
    if [ "$GPUS_PER_NODE" -gt "$VISIBLE" ]; then
        echo "error: GPUS=$GPUS over NNODES=$NNODES starts $GPUS_PER_NODE processes on this" \
             "node, which has $VISIBLE visible GPUs (one process per GPU)." >&2
        exit 2
    fi
    if [ "$GPUS_PER_NODE" -lt "$VISIBLE" ] && [ "$ALLOW_PARTIAL_NODE" != "1" ]; then
        echo "error: GPUS=$GPUS over NNODES=$NNODES starts only $GPUS_PER_NODE processes on" \
             "this node, which has $VISIBLE visible GPUs. GPUS is the TOTAL number of" \
             "processes over all nodes (OpenMMLab's dist_train.sh takes GPUs per node):" \
             "for $NNODES node(s) x $VISIBLE GPUs pass GPUS=$((NNODES * VISIBLE)). To use" \
             "part of the node on purpose, set ALLOW_PARTIAL_NODE=1 or restrict" \
             "CUDA_VISIBLE_DEVICES." >&2
        exit 2
    fi
fi

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" "$ROOT/tools/$SCRIPT" "$@" --dry-run --world-size "$GPUS" --nnodes "$NNODES"
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS_PER_NODE" \
    "$ROOT/tools/$SCRIPT" "$@"
