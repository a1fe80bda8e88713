"""Scenario 3: a non-finite loss or gradient is detected; the model never takes a NaN step.

Faults are real NaNs: a forward hook that makes the backbone's logits NaN in
one iteration of a tiny SAR run (the NaN flows through the rollout, the losses
and the backward pass), and a gradient hook that poisons one parameter's
gradient while the loss stays finite.
"""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.runner import Runner
from reliability_runs import ITER_CONFIG, in_process_runner

from sar_mm.engine import SkipNonFiniteOptimWrapper
from sar_mm.utils.setup_env import register_all_modules

POISONED_ITER = 1  # 0-based: the second iteration


class NaNLogitsAt(Hook):
    """Makes the backbone's logits NaN during one iteration; records the weights around it."""

    priority = 'LOWEST'

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration
        self.handle = None
        self.before = self.after = None

    def _backbone(self, runner) -> nn.Module:
        return runner.model.backbone

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.iteration:
            self.before = copy.deepcopy(self._backbone(runner).state_dict())
            self.handle = self._backbone(runner).head.register_forward_hook(
                lambda module, args, out: out * float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter == self.iteration:
            self.handle.remove()
            self.after = copy.deepcopy(self._backbone(runner).state_dict())


def _runner(work_dir: Path, policy: str, max_iters: int) -> Runner:
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(ITER_CONFIG)
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.nonfinite.policy = policy
    cfg.default_hooks.checkpoint.interval = 100  # no checkpoints needed here
    cfg.train_dataloader.num_workers = 0
    return in_process_runner(cfg, work_dir)


def test_stop_names_the_iteration_and_the_loss_terms(tmp_path: Path):
    runner = _runner(tmp_path, 'stop', max_iters=3)
    injector = NaNLogitsAt(POISONED_ITER)
    runner.register_hook(injector)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert f'iteration {POISONED_ITER + 1}' in message
    assert 'loss_tf=nan' in message and 'loss_sf=nan' in message
    assert 'weights and the last checkpoint are intact' in message
    # the update of the poisoned step was not applied
    for key, value in injector.before.items():
        assert torch.equal(runner.model.backbone.state_dict()[key], value), key
    assert runner.optim_wrapper.nonfinite_skips == 1


def test_skip_drops_the_step_counts_it_and_trains_on(tmp_path: Path):
    runner = _runner(tmp_path, 'skip', max_iters=3)
    injector = NaNLogitsAt(POISONED_ITER)
    runner.register_hook(injector)
    runner.train()
    for key, value in injector.before.items():
        assert torch.equal(injector.after[key], value), key  # the NaN step changed nothing
    assert runner.optim_wrapper.nonfinite_skips == 1
    assert runner.iter == 3  # and training went on
    skips = runner.message_hub.get_scalar('train/nonfinite_skip').data[0]
    assert skips.tolist() == [0.0, 1.0, 0.0]
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def _wrapper_and_model():
    model = nn.Linear(3, 1)
    wrapper = SkipNonFiniteOptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.1))
    return model, wrapper


def test_nonfinite_gradient_with_finite_loss_is_skipped():
    MessageHub.get_current_instance().update_info('iter', 6)
    model, wrapper = _wrapper_and_model()
    model.weight.register_hook(lambda grad: grad * float('inf'))
    before = copy.deepcopy(model.state_dict())
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 3)).sum()
    assert math.isfinite(loss.item())
    wrapper.update_params(loss)
    for key, value in before.items():
        assert torch.equal(model.state_dict()[key], value)
    assert wrapper.optimizer.state == {}  # AdamW took no step: no moments
    assert wrapper.last_skip == dict(iter=6, loss=loss.item(), nonfinite_grads=['weight'],
                                     ranks=[0])
    assert all(p.grad is None for p in model.parameters())  # dropped, not accumulated


def test_finite_update_is_applied():
    model, wrapper = _wrapper_and_model()
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 3)).sum()
    wrapper.update_params(loss)
    assert not torch.equal(model.weight.detach(), before)
    assert wrapper.nonfinite_skips == 0 and wrapper.last_skip is None
