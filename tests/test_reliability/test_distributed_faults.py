"""Scenario 5: when one rank of a 2-process job dies or hangs, the other exits non-zero, soon.

The ranks are started directly, not under torchrun (``distributed_runs``):
nothing but the surviving rank's own error handling and the collective timeout
from ``env_cfg.dist_cfg.timeout`` (5 s) can end it.

- dead: rank 1 is SIGKILLed in the middle of training; rank 0's next collective
  sees the closed connection.
- hung: rank 1 is SIGSTOPped (alive, silent, as a rank stuck in I/O or a
  deadlock); rank 0 waits in its collective until the configured timeout.
"""
import os
import signal
import time
from pathlib import Path

import pytest
from distributed_runs import start_ranks
from reliability_runs import ITER_CONFIG, wait_for

TIMEOUT_S = 5
BOUND_S = TIMEOUT_S + 50  # timeout, then exiting (workers, logs) on a loaded CI machine


def _start_ranks(work_dir: Path, logs: Path) -> list:
    return start_ranks(ITER_CONFIG, work_dir, logs, '--cfg-options', 'train_cfg.max_iters=100000',
                       f'env_cfg.dist_cfg.timeout={TIMEOUT_S}')


@pytest.mark.parametrize('fault', ['dead', 'hung'])
def test_surviving_rank_exits_nonzero_in_bounded_time(tmp_path: Path, fault: str):
    rank0, rank1 = _start_ranks(tmp_path / 'work', tmp_path)
    try:
        # both ranks are training: rank 0 wrote a checkpoint (ranks meet in every step)
        wait_for(tmp_path / 'work' / 'iter_2.pth', rank0, tmp_path / 'rank0.log', timeout=180)
        os.kill(rank1.pid, signal.SIGKILL if fault == 'dead' else signal.SIGSTOP)
        start = time.monotonic()
        returncode = rank0.wait(timeout=BOUND_S)
        elapsed = time.monotonic() - start
    finally:
        for process in (rank0, rank1):
            if process.poll() is None:
                process.kill()
                process.wait()
    log = (tmp_path / 'rank0.log').read_text()
    assert returncode not in (0, None), log[-3000:]
    assert elapsed < BOUND_S
    if fault == 'hung':
        # the collective timed out after the configured timeout, not at the 30-min default
        assert f'Timed out waiting {TIMEOUT_S * 1000}ms' in log, log[-3000:]
        assert elapsed >= TIMEOUT_S - 1
    else:
        # gloo's error for the lost peer (wording depends on where rank 0 was)
        assert any(text in log for text in ('Connection reset', 'Connection closed',
                                            'Broken pipe', 'Timed out')), log[-3000:]
