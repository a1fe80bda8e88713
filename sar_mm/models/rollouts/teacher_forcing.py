"""Teacher forcing: the pre-training recipe of VAR and FlexVAR (docs/method.md §1.2)."""
from typing import List, Sequence

import torch
import torch.nn as nn

from sar_mm.registry import ROLLOUTS
from ..utils.scale_layout import RolloutOutput
from .base_rollout import BaseRollout, teacher_forced_inputs

__all__ = ['TeacherForcing']


@ROLLOUTS.register_module()
class TeacherForcing(BaseRollout):
    """One block-causal pass over all scales with ground-truth inputs.

    ``x_k = Up_k(e(y_{k-1}))`` for every ``k >= 2`` (FlexVAR; VAR uses its
    residual inputs); the targets are the ground-truth maps of every scale.
    """

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        x_BLCv = teacher_forced_inputs(tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
        logits = backbone(labels, x_BLCv, list(patch_nums))  # (B, L, V)
        return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits,
                             targets=torch.cat(list(idx_list), dim=1))
