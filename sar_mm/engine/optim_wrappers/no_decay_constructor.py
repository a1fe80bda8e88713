"""Optimizer constructor with the official weight-decay exclusions (docs/method.md §6.1).

VAR / FlexVAR / SAR (``utils/lr_control.py: filter_params``) exclude from weight
decay every parameter that is 1-D, is a bias, or whose name contains one of a
fixed list of keys (``pos_1LC``, ``pos_start``, ``scale_mul``, ...). Frozen
parameters (the tokenizer) are left out of the optimizer altogether.
"""
import copy
from typing import Iterable, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from sar_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ['NoDecayOptimWrapperConstructor', 'OFFICIAL_NO_DECAY_KEYS', 'split_no_decay']

#: ``nowd_keys`` of the official ``train.py`` (matched as substrings of the name).
OFFICIAL_NO_DECAY_KEYS: Tuple[str, ...] = (
    'cls_token', 'start_token', 'task_token', 'cfg_uncond', 'pos_embed', 'pos_1LC', 'pos_start',
    'start_pos', 'lvl_embed', 'gamma', 'beta', 'ada_gss', 'moe_bias', 'scale_mul')


def split_no_decay(named_params: Iterable[Tuple[str, nn.Parameter]],
                   no_decay_keys: Sequence[str],
                   no_decay_names: Sequence[str] = ()) -> Tuple[List[str], List[str]]:
    """Partition trainable parameter names into (decay, no decay).

    A parameter gets no decay when it is at most 1-D, its name ends with
    ``bias``, a key of ``no_decay_keys`` is a substring of its name, or its name
    is in ``no_decay_names``. Parameters with ``requires_grad=False`` are in
    neither list.

    Returns:
        (decay names, no-decay names), each in ``named_params`` order.
    """
    exact = set(no_decay_names)
    decay, no_decay = [], []
    for name, param in named_params:
        if not param.requires_grad:
            continue
        if (param.ndim <= 1 or name.endswith('bias') or name in exact
                or any(key in name for key in no_decay_keys)):
            no_decay.append(name)
        else:
            decay.append(name)
    return decay, no_decay


def _module_no_decay_names(model: nn.Module) -> List[str]:
    """Full names listed by submodules' ``no_weight_decay_names()`` (backbones)."""
    names = []
    for prefix, module in model.named_modules():
        getter = getattr(module, 'no_weight_decay_names', None)
        if callable(getter):
            names += [f'{prefix}.{name}' if prefix else name for name in (getter() or ())]
    return names


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class NoDecayOptimWrapperConstructor:
    """Build an optimizer with a decay group and a no-decay group.

    Config::

        optim_wrapper = dict(
            type='SkipNonFiniteOptimWrapper',
            optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.95), weight_decay=0.05),
            constructor='NoDecayOptimWrapperConstructor',
            paramwise_cfg=dict(no_decay_keys=(...)))  # optional

    Args:
        optim_wrapper_cfg (dict): the ``optim_wrapper`` config (``type``,
            default ``'SkipNonFiniteOptimWrapper'``; ``optimizer``; the
            wrapper's own arguments).
        paramwise_cfg (dict, optional): only ``no_decay_keys`` (substrings),
            default ``OFFICIAL_NO_DECAY_KEYS``. Names returned by any
            submodule's ``no_weight_decay_names()`` are always excluded too.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if 'optimizer' not in optim_wrapper_cfg:
            raise ValueError('optim_wrapper_cfg needs an "optimizer" entry')
        paramwise_cfg = dict(paramwise_cfg or {})
        self.no_decay_keys = tuple(paramwise_cfg.pop('no_decay_keys', OFFICIAL_NO_DECAY_KEYS))
        if paramwise_cfg:
            raise ValueError('NoDecayOptimWrapperConstructor only understands paramwise_cfg key '
                             f'"no_decay_keys", got {sorted(paramwise_cfg)}')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        named = dict(model.named_parameters())
        decay, no_decay = split_no_decay(named.items(), self.no_decay_keys,
                                         _module_no_decay_names(model))
        wrapper_cfg = copy.deepcopy(self.optim_wrapper_cfg)
        optimizer_cfg = wrapper_cfg.pop('optimizer')
        weight_decay = optimizer_cfg.get('weight_decay', 0.0)
        groups = [dict(params=[named[n] for n in decay], weight_decay=weight_decay),
                  dict(params=[named[n] for n in no_decay], weight_decay=0.0)]
        optimizer_cfg['params'] = [group for group in groups if group['params']]
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg.setdefault('type', 'SkipNonFiniteOptimWrapper')
        frozen = sum(p.numel() for p in named.values() if not p.requires_grad)
        print_log(
            f'optimizer groups: {len(decay)} tensors ({sum(named[n].numel() for n in decay)} '
            f'params) with weight decay {weight_decay}, {len(no_decay)} tensors '
            f'({sum(named[n].numel() for n in no_decay)} params) without: {no_decay}; '
            f'{frozen} frozen params left out', logger='current')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
