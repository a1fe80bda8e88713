"""What a rollout strategy hands to a loss."""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

__all__ = ['RolloutOutput', 'scale_slices']


def scale_slices(patch_nums: Sequence[int]) -> List[slice]:
    """Token ranges of every scale in a flattened sequence of ``sum(pn ** 2)`` tokens."""
    slices, begin = [], 0
    for pn in patch_nums:
        slices.append(slice(begin, begin + pn * pn))
        begin += pn * pn
    return slices


@dataclass
class RolloutOutput:
    """Logits and targets of one training step.

    ``logits`` / ``targets`` always cover every token of the schedule; they are
    the teacher-forced pass for ``TeacherForcing`` and SSR, and the assembled
    per-scale predictions for the student-forcing family. ``student_*`` is the
    extra student pass of SSR, covering the scales in ``student_scales``.

    Attributes:
        patch_nums (tuple[int]): the schedule of this step.
        logits (Tensor): (B, L, V), ``L = sum(pn ** 2)``, in the graph.
        targets (Tensor): (B, L) int64 ground-truth tokens.
        student_logits (Tensor, optional): (B, Ls, V) in the graph.
        student_targets (Tensor, optional): (B, Ls) int64.
        student_scales (tuple[int]): indices into ``patch_nums`` covered, in
            order, by ``student_logits`` (``Ls = sum(patch_nums[i] ** 2)``).
        student_inputs (Tensor, optional): (B, Ls, Cvae) the student pass's
            next-scale inputs (no grad).
        teacher_idx (list, optional): tokens read off the teacher pass, one
            entry per scale: a (B, pn ** 2) tensor (no grad) for the scales the
            rollout used, ``None`` for the others.
        num_forwards (int): backbone calls with gradient made for this step.
    """

    patch_nums: Tuple[int, ...]
    logits: torch.Tensor
    targets: torch.Tensor
    student_logits: Optional[torch.Tensor] = None
    student_targets: Optional[torch.Tensor] = None
    student_scales: Tuple[int, ...] = ()
    student_inputs: Optional[torch.Tensor] = None
    teacher_idx: Optional[List[Optional[torch.Tensor]]] = None
    num_forwards: int = 1

    @property
    def slices(self) -> List[slice]:
        """Token range of every scale inside ``logits`` / ``targets``."""
        return scale_slices(self.patch_nums)
