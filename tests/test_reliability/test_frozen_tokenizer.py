"""Scenario 6: the frozen tokenizer stays frozen through a SAR run.

A tiny SAR run (stagger-scale rollout, contrastive student-forcing loss, fp16
autocast with loss scaling, AdamW with weight decay, the Runner calling
``model.train()`` every iteration) must leave every tokenizer tensor, buffers
included, bit-identical in memory and in the checkpoint, with the tokenizer in
eval mode and without gradients at every step, and outside the optimizer.
"""
import copy
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from reliability_runs import ITER_CONFIG, in_process_runner


class TokenizerWatch(Hook):
    """Records the tokenizer's mode and gradients at every step."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.training, self.requires_grad, self.has_grad = [], [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        tokenizer = runner.model.tokenizer
        self.training.append(any(m.training for m in tokenizer.modules()))
        self.requires_grad.append(any(p.requires_grad for p in tokenizer.parameters()))
        self.has_grad.append(any(p.grad is not None for p in tokenizer.parameters()))


def test_tokenizer_is_unchanged_by_a_sar_run(tmp_path: Path):
    cfg = Config.fromfile(ITER_CONFIG)
    cfg.train_cfg.max_iters = 3
    cfg.default_hooks.checkpoint.interval = 3
    cfg.train_dataloader.num_workers = 0
    runner = in_process_runner(cfg, tmp_path)
    before = copy.deepcopy(runner.model.tokenizer.state_dict())
    backbone_before = copy.deepcopy(runner.model.backbone.state_dict())
    watch = TokenizerWatch()
    runner.register_hook(watch)
    runner.train()

    assert watch.training == [False] * 3
    assert watch.requires_grad == [False] * 3
    assert watch.has_grad == [False] * 3
    tokenizer_params = {id(p) for p in runner.model.tokenizer.parameters()}
    groups = runner.optim_wrapper.optimizer.param_groups
    optimized = [p for group in groups for p in group['params']]
    assert optimized and not tokenizer_params & {id(p) for p in optimized}

    after = runner.model.tokenizer.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    saved = torch.load(tmp_path / 'iter_3.pth', map_location='cpu', weights_only=False)
    for key, value in before.items():
        assert torch.equal(saved['state_dict'][f'tokenizer.{key}'], value), key
    # control: the same run did train the backbone
    assert saved['meta']['iter'] == 3
    assert not torch.equal(saved['state_dict']['backbone.head.weight'],
                           backbone_before['head.weight'])
