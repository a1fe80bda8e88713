"""Where each scale's tokens sit in the flattened sequence, and what a rollout hands a loss.

A schedule ``patch_nums`` lists the side lengths of the scales of one step;
scale ``k`` owns ``patch_nums[k] ** 2`` tokens and the sequence holds
``L = sum(pn ** 2)`` of them, scale after scale, each flattened row-major.
The teacher-forced input sequence has ``L - 1`` rows: the first scale is
predicted from the start token, which has no input row, so token ``p >= 1`` is
fed by input row ``p - 1`` (docs/method.md §4.3).

This module imports nothing from the rest of sar_mm: tokenizers, rollouts,
losses, evaluation and the schedules all read their bookkeeping from here.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

__all__ = ['CANONICAL_PATCH_NUMS', 'check_schedule', 'num_tokens', 'scale_slices',
           'input_slice', 'RolloutOutput']

#: the 10-scale schedule of VAR and FlexVAR (680 tokens), docs/method.md §4.1.
CANONICAL_PATCH_NUMS: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)


def check_schedule(patch_nums: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``patch_nums`` starts at 1 and strictly increases."""
    if len(patch_nums) == 0 or patch_nums[0] != 1:
        raise ValueError(f'a schedule must start with scale 1, got {list(patch_nums)}')
    if any(b <= a for a, b in zip(patch_nums, patch_nums[1:])):
        raise ValueError(f'a schedule must be strictly increasing, got {list(patch_nums)}')


def num_tokens(patch_nums: Sequence[int]) -> int:
    """``L = sum(pn ** 2)``, the tokens of every scale of the schedule."""
    return sum(pn * pn for pn in patch_nums)


def scale_slices(patch_nums: Sequence[int]) -> List[slice]:
    """Token range of every scale in a flattened sequence of ``L`` tokens."""
    slices, begin = [], 0
    for pn in patch_nums:
        slices.append(slice(begin, begin + pn * pn))
        begin += pn * pn
    return slices


def input_slice(tokens: slice) -> slice:
    """Rows of the teacher-forced inputs (B, L - 1, Cvae) that feed ``tokens``.

    Token ``p >= 1`` is fed by row ``p - 1``; token 0 (the first scale,
    predicted from the start token) by none. So scale ``k >= 1``'s block
    ``[start, stop)`` is fed by rows ``[start - 1, stop - 1)``, scale 0 by an
    empty range, and a prefix ``[0, stop)`` of scales by rows ``[0, stop - 1)``.
    """
    return slice(max(tokens.start - 1, 0), tokens.stop - 1)


@dataclass
class RolloutOutput:
    """Logits and targets of one training step: what the loss reads.

    ``logits`` / ``targets`` always cover every token of the schedule; they are
    the teacher-forced pass for ``TeacherForcing`` and SSR, and the assembled
    per-scale predictions for the student-forcing family. ``student_*`` is the
    extra student pass of SSR (docs/method.md §2-3). What else a step did (its
    backbone calls, the tokens it read off its own logits) is recorded by
    :class:`sar_mm.testing.RolloutTrace` for tests and parity checks.

    Attributes:
        patch_nums (tuple[int]): the schedule of this step.
        logits (Tensor): (B, L, V), ``L = sum(pn ** 2)``, in the graph.
        targets (Tensor): (B, L) int64 ground-truth tokens.
        student_logits (Tensor, optional): (B, Ls, V) in the graph, the
            student-forced scales in schedule order.
        student_targets (Tensor, optional): (B, Ls) int64.
    """

    patch_nums: Tuple[int, ...]
    logits: torch.Tensor
    targets: torch.Tensor
    student_logits: Optional[torch.Tensor] = None
    student_targets: Optional[torch.Tensor] = None
