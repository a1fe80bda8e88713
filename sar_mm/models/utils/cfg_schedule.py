"""Classifier-free guidance of test-time sampling: per-scale strength and mixing in one object.

The ramps of VAR, FlexVAR and LlamaGen (docs/method.md §5.2 and §7.7). A ramp
and its mixing form live together in :class:`CFGSchedule`, so a new ramp is
one entry of :attr:`CFGSchedule.NAMES` and one branch of
:meth:`CFGSchedule.strength` (plus one of :meth:`CFGSchedule.mix` if it mixes
differently). SAR's training-rollout ramp is not a sampling option; it lives
with the rollout (:class:`~sar_mm.models.rollouts.rollout_guidance.SARRolloutGuidance`).
"""
from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence, Tuple

import torch

__all__ = ['CFGSchedule', 'var_guidance']


def var_guidance(logits_cond: torch.Tensor, logits_uncond: torch.Tensor,
                 t: float) -> torch.Tensor:
    """VAR's guidance form ``(1 + t) * cond - t * uncond``, in the official order of operations.

    Args:
        logits_cond (Tensor): (B, l, V) conditional logits.
        logits_uncond (Tensor): (B, l, V) unconditional logits.
        t (float): guidance strength.

    Returns:
        Tensor: (B, l, V) guided logits.
    """
    return (1 + t) * logits_cond - t * logits_uncond


@dataclass(frozen=True)
class CFGSchedule:
    """A guidance ramp over the scales and the way it mixes the two logit halves.

    ======== ============================================= ===============================
    name     strength ``t`` at scale index ``si``           mixing
    ======== ============================================= ===============================
    var      ``cfg * (si / (K - 1))`` (VAR)                 ``(1 + t) cond - t uncond``
    flexvar  ``cfg * (si / min(K - 1, 9))``; ``cfg`` where  ``(1 + t) cond - t uncond``
             ``pn > max_pn`` (FlexVAR,
             ``used_llamagen_cfg=False``)
    llamagen ``cfg``, constant (FlexVAR,                    ``uncond + (cond - uncond) t``
             ``used_llamagen_cfg=True``)
    ======== ============================================= ===============================

    ``K = len(patch_nums)``; a one-scale schedule has ``t = 0`` with the VAR
    and FlexVAR ramps. Strengths (the ratio first, then ``cfg`` times it) and
    both mixing forms keep the official order of operations, so guided logits
    match the official samplers to the last bit.

    Args:
        name (str): one of :attr:`NAMES`.
        cfg (float): the guidance scale.
        max_pn (int, optional): ``flexvar`` only: scales with ``pn > max_pn``
            get the full ``cfg``.
    """

    NAMES: ClassVar[Tuple[str, ...]] = ('var', 'flexvar', 'llamagen')

    name: str
    cfg: float
    max_pn: Optional[int] = None

    def __post_init__(self) -> None:
        if self.name == 'sar_rollout':
            raise ValueError("cfg_schedule 'sar_rollout' is the guidance of SAR's training "
                             'rollout (StaggerScaleRollout.rollout_cfg, docs/method.md §2.2), '
                             f'not a sampling schedule; expected one of {self.NAMES}')
        if self.name not in self.NAMES:
            raise ValueError(f'cfg_schedule must be one of {self.NAMES}, got {self.name!r}')

    def strength(self, si: int, patch_nums: Sequence[int]) -> float:
        """Guidance strength ``t`` at scale index ``si`` of ``patch_nums``."""
        if self.name == 'llamagen':
            return self.cfg
        num_steps = len(patch_nums) - 1
        if self.name == 'flexvar':
            if self.max_pn is not None and patch_nums[si] > self.max_pn:
                return self.cfg
            return self.cfg * (si / min(num_steps, 9)) if num_steps > 0 else 0.0
        return self.cfg * (si / num_steps) if num_steps > 0 else 0.0

    def mix(self, logits_cond: torch.Tensor, logits_uncond: torch.Tensor,
            t: float) -> torch.Tensor:
        """Guided logits (B, l, V) of the two (B, l, V) halves at strength ``t``."""
        if self.name == 'llamagen':
            return logits_uncond + (logits_cond - logits_uncond) * t
        return var_guidance(logits_cond, logits_uncond, t)

    def guide(self, logits_cond: torch.Tensor, logits_uncond: torch.Tensor, si: int,
              patch_nums: Sequence[int]) -> torch.Tensor:
        """:meth:`mix` at :meth:`strength` of scale ``si``: (B, l, V) guided logits."""
        return self.mix(logits_cond, logits_uncond, self.strength(si, patch_nums))
