"""Scenario 1: a run SIGKILLed at an arbitrary point resumes exactly with ``--resume auto``.

The killed run is the reference config with ``max_iters=1000``, so it is still
training when it dies (the lr schedule and every other state do not depend on
``max_iters``). It is killed as soon as ``iter_2.pth`` exists, in whatever
iteration it is in by then; ``--resume auto`` then continues from its last
checkpoint up to iteration 8. Every logged value of every iteration (losses,
accuracies of the sampled rollout, gradient norm under the fp16 loss scale, lr)
and the final weights, optimizer and loss-scaler state must equal those of the
uninterrupted run bit for bit (same CPU kernels, one thread).
"""
import shutil
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from reliability_runs import (EPOCH_CONFIG, ITER_CONFIG, checkpoint_iter, in_process_runner,
                              logged, resumed_iter, run, sigkill, start, train_cmd, wait_for)

from sar_mm.utils.checkpoint_io import trust_checkpoint_path


def _load(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)  # written by this test


def _assert_same_state(resumed: dict, reference: dict) -> None:
    assert resumed['state_dict'].keys() == reference['state_dict'].keys()
    for key, value in reference['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    assert resumed['optimizer']['loss_scaler'] == reference['optimizer']['loss_scaler']
    for param_id, state in reference['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(resumed['optimizer']['state'][param_id][name], value), name


def test_sigkill_then_resume_auto_repeats_the_uninterrupted_run(reference_run: Path,
                                                                tmp_path: Path):
    work_dir = tmp_path / 'killed'
    log = tmp_path / 'killed.log'
    process = start(train_cmd(ITER_CONFIG, work_dir, '--cfg-options', 'train_cfg.max_iters=1000'),
                    log)
    wait_for(work_dir / 'iter_2.pth', process, log)
    sigkill(process)
    # the newest checkpoint the killed run completed (it may have written more after iter_2)
    last_iter = max(checkpoint_iter(path) for path in work_dir.glob('iter_*.pth'))
    assert 2 <= last_iter < 8

    result = run(train_cmd(ITER_CONFIG, work_dir, '--resume', 'auto'))
    assert resumed_iter(result.stdout + result.stderr) == last_iter

    reference, resumed = logged(reference_run), logged(work_dir)
    assert sorted(reference) == list(range(1, 9))
    assert sorted(resumed) == list(range(1, 9))
    for iteration in range(1, 9):  # before the kill and after the resume
        assert resumed[iteration] == reference[iteration], iteration
    _assert_same_state(_load(work_dir / 'iter_8.pth'), _load(reference_run / 'iter_8.pth'))


def _epoch_run(work_dir: Path, resume_from: Path = None) -> Runner:
    """The epoch-based tiny SAR config, a checkpoint after every iteration, in this process."""
    cfg = Config.fromfile(EPOCH_CONFIG)
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1, max_keep_ckpts=4)
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    trust_checkpoint_path(str(work_dir))
    runner = in_process_runner(cfg, work_dir)
    runner.train()
    return runner


def test_epoch_loop_resumes_inside_an_epoch(tmp_path: Path):
    """An epoch-based run checkpointed after every iteration, resumed after iteration 3.

    Iteration 3 is the first of epoch 2: the resumed run must skip that
    epoch's first batch and train only iteration 4, as the uninterrupted run
    did. (MMEngine's own loop restarts the epoch: it trains iterations 4 and 5
    on other batches.)
    """
    reference_dir = tmp_path / 'uninterrupted'
    _epoch_run(reference_dir)
    work_dir = tmp_path / 'resumed'
    work_dir.mkdir()
    shutil.copy(reference_dir / 'iter_3.pth', work_dir)
    runner = _epoch_run(work_dir, resume_from=work_dir / 'iter_3.pth')
    assert runner.iter == 4
    reference, resumed = logged(reference_dir), logged(work_dir)
    assert sorted(reference) == [1, 2, 3, 4]
    assert sorted(resumed) == [4]
    assert resumed[4] == reference[4]
    resumed_state = _load(work_dir / 'iter_4.pth')['state_dict']
    for key, value in _load(reference_dir / 'iter_4.pth')['state_dict'].items():
        assert torch.equal(resumed_state[key], value), key
