"""Full student forcing (docs/method.md §1.2; ScaleAR's ``train_step_student_forcing``)."""
from typing import List, Sequence

import torch
import torch.nn as nn

from sar_mm.registry import ROLLOUTS
from .base_rollout import BaseRollout, teacher_prefix_then_student_chain
from .rollout_output import RolloutOutput
from .token_selector import TokenSelector

__all__ = ['StudentForcing']


@ROLLOUTS.register_module()
class StudentForcing(BaseRollout):
    """Every scale's input comes from the model's own previous-scale tokens.

    ``K`` sequential forwards: the first holds only the start token and predicts
    scale 1; pass ``k`` (``k >= 2``) predicts scale ``k`` from
    ``Up_k(e(pred_{k-1}))``, where ``pred_{k-1}`` was read off pass ``k - 1``
    (itself student-forced). Every pass is in the graph; the chained tokens are
    discrete, so no gradient flows between passes. Targets: ground truth of
    every scale (use ``ScaleCrossEntropyLoss``).

    Args:
        context (str): ``'markov'`` (default; class token and the current scale
            only, the ScaleAR/SAR student attention) or ``'full'`` (block-causal
            over all previous, themselves student-forced, blocks).
        token_selection (str): ``'argmax'`` or ``'sample'`` for the chained tokens.
        top_k (int), top_p (float): sampler settings for ``'sample'``.
        seed (int): base seed of the sampler's generator (offset by rank).
    """

    def __init__(self, context: str = 'markov', token_selection: str = 'argmax',
                 top_k: int = 0, top_p: float = 0.0, seed: int = 0) -> None:
        if context not in self.CONTEXTS:
            raise ValueError(f'context must be one of {self.CONTEXTS}, got {context!r}')
        self.context = context
        self.selector = TokenSelector(token_selection, top_k, top_p, seed)

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        logits, num_forwards = teacher_prefix_then_student_chain(
            backbone, tokenizer, labels, idx_list, patch_nums, 1, self.context, self.selector)
        return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits,
                             targets=torch.cat(list(idx_list), dim=1), num_forwards=num_forwards)

    def state_dict(self) -> dict:
        return self.selector.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.selector.load_state_dict(state)
