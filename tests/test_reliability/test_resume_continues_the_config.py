"""A resumed run continues what its config asks for: the longer schedule, the next epoch.

Runs of the epoch-based tiny SAR config (2 batches per epoch, lr warmup over
iterations 0-2, then a linear decay from ``begin=2`` to ``end``), in this
process, with a checkpoint after every iteration. Each resumed run is compared
with an uninterrupted run of the config it resumes with: the same lr at every
iteration after the resume.
"""
import shutil
from pathlib import Path
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from reliability_runs import EPOCH_CONFIG, LOGGED_KEYS, in_process_runner, logged

from sar_mm.utils.checkpoint_io import trust_checkpoint_path

LR = LOGGED_KEYS.index('lr')


def _run(work_dir: Path, max_epochs: int, resume_from: Path = None, **options) -> Runner:
    """``max_epochs`` epochs, the decay ending with the last iteration (2 per epoch);
    ``options``: more config entries (``--cfg-options`` keys)."""
    cfg = Config.fromfile(EPOCH_CONFIG)
    cfg.merge_from_dict(options)
    cfg.train_cfg.max_epochs = max_epochs
    cfg.param_scheduler[1].end = 2 * max_epochs
    cfg.default_hooks.checkpoint.update(by_epoch=False, interval=1, max_keep_ckpts=8)
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    trust_checkpoint_path(str(work_dir))
    runner = in_process_runner(cfg, work_dir)
    runner.train()
    return runner


@pytest.fixture
def dataloader_passes(monkeypatch) -> Dict[str, int]:
    """How many times a DataLoader is iterated (one pass per epoch that reads data)."""
    count = dict(passes=0)
    original = torch.utils.data.DataLoader.__iter__

    def counted(self):
        count['passes'] += 1
        return original(self)

    monkeypatch.setattr(torch.utils.data.DataLoader, '__iter__', counted)
    return count


def _lr(work_dir: Path) -> Dict[int, float]:
    return {iteration: row[LR] for iteration, row in logged(work_dir).items()}


def test_extended_run_follows_the_longer_schedule(tmp_path: Path, dataloader_passes):
    """2 epochs (decay ends at 4), resumed after iteration 4 with 3 epochs (decay ends at 6).

    The checkpoint is the last iteration of epoch 2: the resumed run reads only
    epoch 3's batches. Before, the restored scheduler kept ``end=4`` and the lr
    of iterations 5 and 6 stayed frozen at the short schedule's last value,
    and epoch 2's batches were drawn again and discarded.
    """
    _run(tmp_path / 'short', max_epochs=2)
    _run(tmp_path / 'long', max_epochs=3)
    work_dir = tmp_path / 'extended'
    work_dir.mkdir()
    shutil.copy(tmp_path / 'short' / 'iter_4.pth', work_dir)
    dataloader_passes['passes'] = 0
    runner = _run(work_dir, max_epochs=3, resume_from=work_dir / 'iter_4.pth')
    assert runner.iter == 6
    assert dataloader_passes['passes'] == 1  # epoch 3 only
    long, extended = _lr(tmp_path / 'long'), _lr(work_dir)
    assert sorted(extended) == [5, 6]
    assert long[5] != long[6]  # the long schedule still decays there
    assert [extended[i] for i in (5, 6)] == [long[i] for i in (5, 6)]


def test_checkpoint_at_an_epoch_end_resumes_at_the_next_epoch(tmp_path: Path,
                                                              dataloader_passes):
    """The same config, resumed after iteration 2 (the last of epoch 1): epoch 2 exactly."""
    reference = tmp_path / 'uninterrupted'
    _run(reference, max_epochs=2)
    work_dir = tmp_path / 'resumed'
    work_dir.mkdir()
    shutil.copy(reference / 'iter_2.pth', work_dir)
    dataloader_passes['passes'] = 0
    runner = _run(work_dir, max_epochs=2, resume_from=work_dir / 'iter_2.pth')
    assert runner.iter == 4
    assert dataloader_passes['passes'] == 1  # epoch 2 only; epoch 1 is not read again
    full, resumed = logged(reference), logged(work_dir)
    assert sorted(resumed) == [3, 4]
    assert [resumed[i] for i in (3, 4)] == [full[i] for i in (3, 4)]  # losses, lr, ...
    resumed_state = torch.load(work_dir / 'iter_4.pth', weights_only=False)['state_dict']
    reference_state = torch.load(reference / 'iter_4.pth', weights_only=False)['state_dict']
    for key, value in reference_state.items():
        assert torch.equal(resumed_state[key], value), key


def test_a_schedule_that_cannot_be_mapped_is_refused(tmp_path: Path):
    """The checkpoint's optimizer has 2 parameter groups (weight decay and none); resumed with
    the default constructor, the config builds 1: refused, naming both counts."""
    _run(tmp_path / 'short', max_epochs=2)
    work_dir = tmp_path / 'one_group'
    work_dir.mkdir()
    shutil.copy(tmp_path / 'short' / 'iter_2.pth', work_dir)
    with pytest.raises(ValueError, match='resume: the checkpoint has 2 optimizer parameter groups '
                       'and the config builds 1; the lr schedule cannot be carried over'):
        _run(work_dir, max_epochs=2, resume_from=work_dir / 'iter_2.pth',
             **{'optim_wrapper.constructor': 'DefaultOptimWrapperConstructor'})
