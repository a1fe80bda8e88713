"""Interleaved teacher/student forcing (docs/method.md §1.2, ``train_step_alternating_tf_sf``)."""
from typing import List, Sequence

import torch
import torch.nn as nn

from sar_mm.registry import ROLLOUTS
from ..utils.scale_layout import RolloutOutput, scale_slices
from .base_rollout import BaseRollout, teacher_forced_inputs
from .token_selector import TokenSelector

__all__ = ['InterleaveTFSF']


@ROLLOUTS.register_module()
class InterleaveTFSF(BaseRollout):
    """Even scales teacher-forced, odd scales one-step student-forced; 2 forwards.

    With 0-based scale indices: pass 1 is the ordinary teacher-forced pass and
    supplies the logits of the even scales. Pass 2 is a block-causal pass over
    the whole schedule whose inputs are built from a token list where every
    even scale ``k - 1 < K - 1`` holds the tokens read off pass 1; it supplies
    the logits of the odd scales, each predicted from ``Up_k(e(yhat^T_{k-1}))``.

    The official ScaleAR variant ran the odd scales with Markovian attention
    (class token and own scale); holding all odd scales in one pass requires
    a block-causal pass, so here the odd blocks also see the earlier blocks
    of pass 2 (for FlexVAR: the ground-truth-built even blocks and the other
    odd blocks). Targets: ground truth of every scale.

    Args:
        token_selection (str): ``'argmax'`` or ``'sample'``.
        top_k (int), top_p (float): sampler settings for ``'sample'``.
        seed (int): base seed of the sampler's generator (offset by rank).
    """

    def __init__(self, token_selection: str = 'argmax', top_k: int = 0, top_p: float = 0.0,
                 seed: int = 0) -> None:
        self.selector = TokenSelector(token_selection, top_k, top_p, seed)

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        K = len(patch_nums)
        blocks = scale_slices(patch_nums)
        targets = torch.cat(list(idx_list), dim=1)  # (B, L)
        x_tf = teacher_forced_inputs(tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
        logits_tf = backbone(labels, x_tf, list(patch_nums))  # (B, L, V)
        if K == 1:
            return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits_tf, targets=targets)
        tokens = list(idx_list)
        for k in range(0, K - 1, 2):
            tokens[k] = self.selector(logits_tf[:, blocks[k]].detach())
        x_mixed = teacher_forced_inputs(tokenizer, tokens, patch_nums)  # (B, L-1, Cvae)
        logits_mixed = backbone(labels, x_mixed, list(patch_nums))  # (B, L, V)
        logits = torch.cat([(logits_tf if k % 2 == 0 else logits_mixed)[:, blocks[k]]
                            for k in range(K)], dim=1)  # (B, L, V)
        return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits, targets=targets)
