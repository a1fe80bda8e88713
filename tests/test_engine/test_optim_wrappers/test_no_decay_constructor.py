"""NoDecayOptimWrapperConstructor: the official weight-decay exclusions."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from sar_mm.engine import NoDecayOptimWrapperConstructor, split_no_decay


class _Attn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale_mul_1H11 = nn.Parameter(torch.zeros(1, 2, 1, 1))  # 4-D, listed key
        self.mat_qkv = nn.Linear(4, 12, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(4))  # 1-D


class _Backbone(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pos_start = nn.Parameter(torch.zeros(1, 1, 4))
        self.my_table = nn.Parameter(torch.zeros(3, 4))  # excluded only by the method below
        self.attn = _Attn()
        self.head = nn.Linear(4, 5)

    def no_weight_decay_names(self):
        return ('pos_start', 'my_table')


class _Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tokenizer = nn.Linear(2, 2)
        self.tokenizer.requires_grad_(False)
        self.backbone = _Backbone()
        self.norm = nn.LayerNorm(4)


def _groups(wrapper, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return {group['weight_decay']: sorted(names[id(p)] for p in group['params'])
            for group in wrapper.optimizer.param_groups}


def test_groups_of_a_generator():
    model = _Generator()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
        constructor='NoDecayOptimWrapperConstructor'))
    groups = _groups(wrapper, model)
    assert groups[0.05] == ['backbone.attn.mat_qkv.weight', 'backbone.head.weight']
    assert groups[0.0] == sorted([
        'backbone.pos_start', 'backbone.my_table', 'backbone.attn.scale_mul_1H11',
        'backbone.attn.q_bias', 'backbone.head.bias', 'norm.weight', 'norm.bias'])
    assert wrapper.optimizer.defaults['betas'] == (0.9, 0.95)


def test_custom_keys_and_unknown_options():
    model = _Generator()
    wrapper = build_optim_wrapper(model, dict(
        optimizer=dict(type='SGD', lr=0.1, weight_decay=0.1),
        constructor='NoDecayOptimWrapperConstructor',
        paramwise_cfg=dict(no_decay_keys=('mat_qkv',))))
    groups = _groups(wrapper, model)
    assert groups[0.1] == ['backbone.attn.scale_mul_1H11', 'backbone.head.weight']
    with pytest.raises(ValueError, match='no_decay_keys'):
        NoDecayOptimWrapperConstructor(dict(optimizer=dict(type='SGD', lr=0.1)),
                                       paramwise_cfg=dict(bias_decay_mult=0.0))


def test_split_no_decay_pure():
    params = [('a.weight', nn.Parameter(torch.zeros(2, 2))),
              ('a.bias', nn.Parameter(torch.zeros(2, 2))),
              ('gain', nn.Parameter(torch.zeros(3))),
              ('frozen', nn.Parameter(torch.zeros(2, 2), requires_grad=False)),
              ('x.lvl_embed.weight', nn.Parameter(torch.zeros(2, 2))),
              ('named', nn.Parameter(torch.zeros(2, 2)))]
    decay, no_decay = split_no_decay(params, ('lvl_embed',), ('named',))
    assert decay == ['a.weight']
    assert no_decay == ['a.bias', 'gain', 'x.lvl_embed.weight', 'named']
