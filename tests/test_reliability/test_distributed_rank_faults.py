"""Faults that differ between the ranks of a 2-process (gloo) run (issue 22, item 1).

- a NaN loss on rank 1 only, whose gradients are finite (so DDP's gradient
  all-reduce does not carry it to rank 0): both ranks skip the update, their
  parameters stay bitwise identical, and rank 0 logs the skip once, naming
  rank 1;
- rank 1 SIGKILLed inside an epoch: rank 0 exits within the collective timeout,
  and ``--resume auto`` on both ranks repeats the uninterrupted 2-rank run bit
  for bit: every rank's batches, losses and parameters at every iteration, the
  logged values, and the final weights, optimizer, lr schedule and per-rank
  RNG states.

The runs record every rank's state through the test-only hooks of
``rank_probe_hooks.py`` (``tests/data/configs/tiny_flexvar_sar_2rank*.py``).
"""
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
from distributed_runs import CONFIG_2RANK, CONFIG_2RANK_NAN, rank_rows, run_ranks, start_ranks
from reliability_runs import checkpoint_iter, logged, resumed_iter, wait_for

ITERS = 8  # 2 epochs of 4 batches per rank
ITERS_PER_EPOCH = 4
BOUND_S = 5 + 50  # the config's 5 s collective timeout, then exiting on a loaded CI machine


def test_nan_on_rank_1_only_is_skipped_by_both_ranks(tmp_path: Path):
    work_dir = tmp_path / 'work'
    log0 = run_ranks(CONFIG_2RANK_NAN, work_dir, tmp_path, '--cfg-options',
                     'train_cfg.max_epochs=1')
    rows = [rank_rows(work_dir, rank) for rank in range(2)]
    assert sorted(rows[0]) == sorted(rows[1]) == [1, 2, 3, 4]
    # the NaN reached rank 1's loss only, and no gradient
    assert np.isnan(rows[1][2]['outputs']['loss']) and np.isfinite(rows[0][2]['outputs']['loss'])
    for rank in range(2):
        assert [rows[rank][i]['skipped'] for i in (1, 2, 3, 4)] == [False, True, False, False]
        assert rows[rank][2]['params'] == rows[rank][1]['params']  # the update was not applied
        assert rows[rank][3]['params'] != rows[rank][2]['params']  # training went on
    for iteration in (1, 2, 3, 4):  # the replicas never diverge
        assert rows[0][iteration]['params'] == rows[1][iteration]['params'], iteration
    # logged once, on rank 0, with the rank that saw it
    skips = [line for line in log0.splitlines() if 'non-finite update skipped' in line]
    assert len(skips) == 1, skips
    assert 'at iteration 2 on all 2 ranks (non-finite on rank 1;' in skips[0]
    assert 'non-finite update skipped' not in (tmp_path / 'rank1.log').read_text()


def _load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)  # written by this test


def _assert_same(resumed, reference, where: str = 'checkpoint') -> None:
    """Bitwise equality of nested checkpoint contents (tensors, arrays, RNG tuples)."""
    if isinstance(reference, torch.Tensor):
        assert torch.equal(resumed, reference), where
    elif isinstance(reference, np.ndarray):
        assert np.array_equal(resumed, reference), where
    elif isinstance(reference, dict):
        assert resumed.keys() == reference.keys(), where
        for key in reference:
            _assert_same(resumed[key], reference[key], f'{where}.{key}')
    elif isinstance(reference, (list, tuple)):
        assert len(resumed) == len(reference), where
        for index, (a, b) in enumerate(zip(resumed, reference)):
            _assert_same(a, b, f'{where}[{index}]')
    else:
        assert resumed == reference, where


def test_sigkill_of_one_rank_then_resume_auto_repeats_the_uninterrupted_run(tmp_path: Path):
    reference_dir = tmp_path / 'reference'
    run_ranks(CONFIG_2RANK, reference_dir, tmp_path / 'reference_logs')

    work_dir, logs = tmp_path / 'killed', tmp_path / 'killed_logs'
    logs.mkdir()
    rank0, rank1 = start_ranks(CONFIG_2RANK, work_dir, logs)
    try:
        wait_for(work_dir / 'iter_2.pth', rank0, logs / 'rank0.log', timeout=180)
        os.kill(rank1.pid, signal.SIGKILL)
        start = time.monotonic()
        returncode = rank0.wait(timeout=BOUND_S)
        assert time.monotonic() - start < BOUND_S
        assert rank1.wait(timeout=10) == -signal.SIGKILL
    finally:
        for process in (rank0, rank1):
            if process.poll() is None:
                process.kill()
                process.wait()
    assert returncode != 0, (logs / 'rank0.log').read_text()[-3000:]
    last_iter = max(checkpoint_iter(path) for path in work_dir.glob('iter_*.pth'))
    assert 2 <= last_iter < ITERS and last_iter % ITERS_PER_EPOCH, last_iter  # inside an epoch

    log0 = run_ranks(CONFIG_2RANK, work_dir, tmp_path / 'resumed_logs', '--resume', 'auto')
    assert resumed_iter(log0) == last_iter

    for rank in range(2):  # batches, losses and parameters of every rank and iteration
        reference, resumed = rank_rows(reference_dir, rank), rank_rows(work_dir, rank)
        assert sorted(reference) == sorted(resumed) == list(range(1, ITERS + 1))
        for iteration in reference:
            assert resumed[iteration] == reference[iteration], (rank, iteration)
    assert logged(work_dir) == logged(reference_dir)  # rank 0's logged values, lr, grad norm
    resumed, reference = _load(work_dir / f'iter_{ITERS}.pth'), _load(
        reference_dir / f'iter_{ITERS}.pth')
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_states'):
        _assert_same(resumed[key], reference[key], key)
    assert len(reference['rng_states']['states']) == 2  # both ranks' RNG streams
    assert resumed['meta']['iter'] == ITERS
    assert resumed['meta']['epoch'] == reference['meta']['epoch']
