"""RNGStateHook: per-rank RNG states go into checkpoints and come back on resume."""
import random
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn

from sar_mm.engine import RNGStateHook
from sar_mm.models.utils.scale_schedule import FlexVARRandomScaleSchedule


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale_schedule = FlexVARRandomScaleSchedule(seed=0)


def _runner(iteration: int) -> SimpleNamespace:
    return SimpleNamespace(model=_Model(), iter=iteration)


def _draw(runner) -> tuple:
    """One value from every random stream the hook covers."""
    return (random.random(), float(np.random.rand()), torch.rand(3).tolist(),
            runner.model.scale_schedule())


def _scramble() -> None:
    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)


def test_resume_continues_every_stream():
    runner = _runner(iteration=12)
    _scramble()
    runner.model.scale_schedule()  # advance the schedule's RNG past its seed
    hook = RNGStateHook()
    hook.after_train_epoch(runner)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)  # the uninterrupted run starts the next epoch
    expected = [_draw(runner) for _ in range(3)]

    resumed = _runner(iteration=12)  # fresh process: fresh schedule, re-seeded globals
    torch.manual_seed(0)
    new_hook = RNGStateHook()
    new_hook.after_load_checkpoint(resumed, checkpoint)
    _scramble()  # whatever runs between loading and the epoch start
    new_hook.before_train_epoch(resumed)
    assert [_draw(resumed) for _ in range(3)] == expected


def test_epoch_start_ignores_what_ran_in_between():
    """Validation after the checkpoint must not change the next epoch's randomness."""
    runner = _runner(iteration=4)
    hook = RNGStateHook()
    hook.after_train_epoch(runner)
    state_draw = _draw(runner)  # e.g. a validation loop sampling images
    hook.before_train_epoch(runner)
    assert _draw(runner) == state_draw


def test_load_from_does_not_restore():
    """A ``load_from`` checkpoint (fresh run, iteration 0) keeps the run's own seeds."""
    runner = _runner(iteration=8)
    hook = RNGStateHook()
    hook.after_train_epoch(runner)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    fresh = _runner(iteration=0)
    new_hook = RNGStateHook()
    new_hook.after_load_checkpoint(fresh, checkpoint)
    _scramble()
    new_hook.before_train_epoch(fresh)
    after = (random.random(), float(np.random.rand()))
    _scramble()
    assert after == (random.random(), float(np.random.rand()))


def test_world_size_mismatch_is_not_restored():
    runner = _runner(iteration=8)
    hook = RNGStateHook()
    hook.after_train_epoch(runner)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['rng_states']['world_size'] == 1
    checkpoint['rng_states']['world_size'] = 2
    new_hook = RNGStateHook()
    new_hook.after_load_checkpoint(runner, checkpoint)
    _scramble()
    new_hook.before_train_epoch(runner)
    value = random.random()
    _scramble()
    assert value == random.random()


def test_checkpoint_outside_epoch_end_captures_now_in_one_process():
    runner = _runner(iteration=3)
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    expected = random.random()
    assert checkpoint['rng_states']['states'][0]['python'] is not None
    random.setstate(checkpoint['rng_states']['states'][0]['python'])
    assert random.random() == expected
