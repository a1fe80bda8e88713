#!/usr/bin/env bash
# Multi-process evaluation with torchrun (tools/dist_launch.sh).
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
exec "$(dirname "$0")/dist_launch.sh" test.py "$GPUS" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
