"""Hybrid teacher/student forcing (docs/method.md §1.2, ``train_step_hybrid_tf_sf``)."""
from typing import List, Sequence

import torch
import torch.nn as nn

from sar_mm.registry import ROLLOUTS
from ..utils.scale_layout import RolloutOutput
from .base_rollout import BaseRollout, teacher_prefix_then_student_chain
from .token_selector import TokenSelector

__all__ = ['HybridTFSF']


@ROLLOUTS.register_module()
class HybridTFSF(BaseRollout):
    """Teacher forcing on coarse scales, chained student forcing on fine ones.

    Scales whose side is ``<= tf_max_scale`` are teacher-forced in one
    block-causal pass. The first finer scale gets its input from the tokens read
    off that pass at the last teacher-forced scale; every later scale from the
    previous student pass. ``1 + #student scales`` forwards; targets are the
    ground truth of every scale (use ``ScaleCrossEntropyLoss``).

    Args:
        tf_max_scale (int): largest teacher-forced side length (8 in the
            official code).
        context (str): ``'markov'`` (default) or ``'full'`` for the student passes.
        token_selection (str): ``'argmax'`` or ``'sample'``.
        top_k (int), top_p (float): sampler settings for ``'sample'``.
        seed (int): base seed of the sampler's generator (offset by rank).
    """

    def __init__(self, tf_max_scale: int = 8, context: str = 'markov',
                 token_selection: str = 'argmax', top_k: int = 0, top_p: float = 0.0,
                 seed: int = 0) -> None:
        if tf_max_scale < 1:
            raise ValueError(f'tf_max_scale must be >= 1, got {tf_max_scale}')
        if context not in self.CONTEXTS:
            raise ValueError(f'context must be one of {self.CONTEXTS}, got {context!r}')
        self.tf_max_scale = tf_max_scale
        self.context = context
        self.selector = TokenSelector(token_selection, top_k, top_p, seed)

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        num_tf_scales = sum(1 for pn in patch_nums if pn <= self.tf_max_scale)
        logits = teacher_prefix_then_student_chain(
            backbone, tokenizer, labels, idx_list, patch_nums, num_tf_scales,
            self.context, self.selector)
        return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits,
                             targets=torch.cat(list(idx_list), dim=1))
