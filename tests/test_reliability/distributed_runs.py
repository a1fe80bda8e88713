"""Launching the 2-process runs of the distributed fault tests and reading what they record.

Both ranks are started directly (``--launcher pytorch`` with the torchrun
environment) rather than under torchrun, whose agent would tear the job down
itself: nothing but the ranks' own error handling and the collective timeout
(``env_cfg.dist_cfg.timeout``) can end a rank whose peer is lost.
"""
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Dict, List

from reliability_runs import CONFIGS, REPO, env, train_cmd

CONFIG_2RANK = CONFIGS / 'tiny_flexvar_sar_2rank.py'
CONFIG_2RANK_NAN = CONFIGS / 'tiny_flexvar_sar_2rank_nan.py'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def start_ranks(config: Path, work_dir: Path, logs: Path, *args: str) -> List[subprocess.Popen]:
    """Start ranks 0 and 1 of ``tools/train.py config``; output to ``logs/rank<r>.log``.

    ``tests/test_reliability`` is on their ``PYTHONPATH`` for the test-only hooks.
    """
    port = str(_free_port())
    cmd = train_cmd(config, work_dir, '--launcher', 'pytorch', *args)
    python_path = os.pathsep.join([str(REPO), str(Path(__file__).parent)])
    ranks = []
    for rank in range(2):
        with open(logs / f'rank{rank}.log', 'w') as out:
            ranks.append(subprocess.Popen(
                cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                env=env(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE='2',
                        MASTER_ADDR='127.0.0.1', MASTER_PORT=port, PYTHONPATH=python_path)))
    return ranks


def run_ranks(config: Path, work_dir: Path, logs: Path, *args: str, timeout: float = 180) -> str:
    """Run both ranks to completion, require success; rank 0's log."""
    logs.mkdir(parents=True, exist_ok=True)
    ranks = start_ranks(config, work_dir, logs, *args)
    try:
        codes = [process.wait(timeout=timeout) for process in ranks]
    finally:
        for process in ranks:
            if process.poll() is None:
                process.kill()
                process.wait()
    rank_logs = [(logs / f'rank{rank}.log').read_text() for rank in range(2)]
    assert codes == [0, 0], '\n'.join(log[-3000:] for log in rank_logs)
    return rank_logs[0]


def rank_rows(work_dir: Path, rank: int) -> Dict[int, dict]:
    """iteration -> what ``RecordRankState`` recorded on ``rank``; a resumed run's rows win."""
    rows = {}
    for line in (work_dir / f'rank{rank}.jsonl').read_text().splitlines():
        row = json.loads(line)
        rows[row['iter']] = row
    return rows
