"""Guidance of SAR's training rollout (docs/method.md §2.2); not a sampling option."""
from dataclasses import dataclass
from typing import Sequence

import torch

from ..utils.cfg_schedule import var_guidance

__all__ = ['SARRolloutGuidance']


@dataclass(frozen=True)
class SARRolloutGuidance:
    """The per-scale guidance SAR applies to the teacher logits before drawing rollout tokens.

    Strength ``t = cfg * (1 + si / (K - 1)) / 2`` at scale index ``si`` of a
    ``K``-scale schedule (``cfg / 2`` for a one-scale schedule), mixed in VAR's
    form ``(1 + t) cond - t uncond``
    (:func:`~sar_mm.models.utils.cfg_schedule.var_guidance`). Sampling uses
    :class:`~sar_mm.models.utils.cfg_schedule.CFGSchedule` instead, which
    refuses this ramp.

    Args:
        cfg (float): the rollout's guidance scale (``StaggerScaleRollout.rollout_cfg``).
    """

    cfg: float

    def strength(self, si: int, patch_nums: Sequence[int]) -> float:
        """Guidance strength ``t`` at scale index ``si`` of ``patch_nums``."""
        num_steps = len(patch_nums) - 1
        return self.cfg * 0.5 * (1 + (si / num_steps if num_steps > 0 else 0.0))

    def guide(self, logits_cond: torch.Tensor, logits_uncond: torch.Tensor, si: int,
              patch_nums: Sequence[int]) -> torch.Tensor:
        """Guided logits (B, l, V) of scale ``si`` from the two (B, l, V) halves."""
        return var_guidance(logits_cond, logits_uncond, self.strength(si, patch_nums))
