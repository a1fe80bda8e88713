"""Stagger-Scale Rollout (SSR) of SAR (docs/method.md §2 and §7.21-7.23)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from sar_mm.registry import ROLLOUTS
from ..utils.scale_layout import RolloutOutput, input_slice, scale_slices
from .base_rollout import BaseRollout, teacher_forced_inputs
from .rollout_guidance import SARRolloutGuidance
from .token_selector import TokenSelector

__all__ = ['StaggerScaleRollout']


@ROLLOUTS.register_module()
class StaggerScaleRollout(BaseRollout):
    """Teacher pass, token rollout, then a student pass on scale-shifted inputs.

    1. **Teacher pass** (in the graph): the ordinary teacher-forced pass,
       logits ``(B, L, V)`` trained against the ground truth.
    2. **Rollout** (no grad): tokens ``yhat^T_k`` are read off the teacher
       logits of the scales the student pass reads (:meth:`rollout_scales`),
       by arg-max or by top-k/top-p sampling, optionally
       from CFG-guided logits ``(1 + t_i) cond - t_i uncond`` with the ramp
       ``t_i = rollout_cfg * (1 + i / (K - 1)) / 2`` (docs/method.md §2.2).
    3. **Student pass** (in the graph): inputs built from the teacher tokens
       (``Up_k(e(yhat^T_{k-1}))`` for FlexVAR), trained towards the teacher
       tokens ``yhat^T_k`` (CSFL) or the ground truth (naive SF).

    The defaults are the *effective* official recipe (docs/method.md §2.2, §7.23: the
    released trainer ignores its ``--sf_*`` flags): only the last transition,
    Markovian student attention, sampling with top-k 900 / top-p 0.96 and CFG
    1.2, teacher targets. The script-intended variant is
    ``token_selection='argmax', rollout_cfg=0``; the paper figure is
    ``sf_scope='all', sf_context='full'``.

    Unconditional half of the teacher pass: the official trainer runs the
    teacher pass on a ``[cond; uncond]`` batch of ``2B`` with autograd on and
    uses only the first ``B`` rows in the loss. Here the unconditional rows are
    a separate call under ``torch.no_grad()``. The gradient is identical: the
    rows of a batch do not interact (no batch statistics), so the conditional
    rows' outputs do not depend on the unconditional ones, and the loss never
    reads the unconditional logits, whose only use is choosing discrete tokens.
    Only drop-path randomness differs, and no activations of the unconditional
    half are kept for backward (docs/method.md §2.3, §7.26).

    With ``rollout_cfg > 0`` the guidance is used with either token selection
    (the official code applies it only when sampling, and only for
    ``sf_cfg_scale > 1``).

    Args:
        sf_scope (str): ``'last'`` (official code: only the transition
            ``K-1 -> K`` of the step's schedule) or ``'all'`` (paper Fig. 3:
            every scale ``2..K``).
        sf_context (str): ``'markov'`` (official: ``backbone.forward_student``,
            class token plus the scale, one call per student scale) or
            ``'full'`` (one ordinary block-causal pass over the shifted
            sequence; with ``sf_scope='last'`` the earlier blocks keep their
            ground-truth inputs).
        token_selection (str): ``'sample'`` or ``'argmax'``.
        top_k (int): 900. top_p (float): 0.96. Sampling only.
        rollout_cfg (float): guidance scale ``gamma`` of the rollout; ``0``
            disables guidance and the unconditional call.
        target (str): ``'teacher'`` (CSFL) or ``'gt'`` (naive SF ablation).
        seed (int): base seed of the sampler's generator (offset by rank).
    """

    SCOPES = ('last', 'all')
    TARGETS = ('teacher', 'gt')

    def __init__(self, sf_scope: str = 'last', sf_context: str = 'markov',
                 token_selection: str = 'sample', top_k: int = 900, top_p: float = 0.96,
                 rollout_cfg: float = 1.2, target: str = 'teacher', seed: int = 0) -> None:
        if sf_scope not in self.SCOPES:
            raise ValueError(f'sf_scope must be one of {self.SCOPES}, got {sf_scope!r}')
        if sf_context not in self.CONTEXTS:
            raise ValueError(f'sf_context must be one of {self.CONTEXTS}, got {sf_context!r}')
        if target not in self.TARGETS:
            raise ValueError(f'target must be one of {self.TARGETS}, got {target!r}')
        if rollout_cfg < 0:
            raise ValueError(f'rollout_cfg must be >= 0, got {rollout_cfg}')
        self.sf_scope = sf_scope
        self.sf_context = sf_context
        self.rollout_cfg = rollout_cfg
        self.target = target
        self.selector = TokenSelector(token_selection, top_k, top_p, seed)

    def student_scales(self, num_scales: int) -> Tuple[int, ...]:
        """Scales the student pass predicts, in the order ``student_logits`` holds them.

        ``(K-1,)`` for ``'last'``, ``1..K-1`` for ``'all'``.
        """
        K = num_scales
        return (K - 1, ) if self.sf_scope == 'last' else tuple(range(1, K))

    def rollout_scales(self, num_scales: int) -> Tuple[int, ...]:
        """Scales whose teacher tokens the step uses: student inputs and targets.

        Student scale ``k`` reads the teacher tokens of ``k - 1`` and, with
        teacher targets, of ``k``: ``'last'`` needs ``K-2`` (and ``K-1``),
        ``'all'`` needs ``0..K-2`` (and ``1..K-1``). Tokens of the other scales
        are never drawn (their sampling would cost a top-k/top-p pass over
        ``pn ** 2`` rows of ``V`` logits for nothing).
        """
        targets = set(self.student_scales(num_scales))
        inputs = {k - 1 for k in targets}
        return tuple(sorted(inputs | (targets if self.target == 'teacher' else set())))

    @torch.no_grad()
    def rollout_tokens(self, backbone: nn.Module, labels: torch.Tensor, x_BLCv: torch.Tensor,
                       logits_cond: torch.Tensor, patch_nums: Sequence[int],
                       scales: Optional[Sequence[int]] = None) -> List[Optional[torch.Tensor]]:
        """Teacher tokens of the requested scales (step 2), without gradient.

        Args:
            labels (Tensor): (B,) class ids.
            x_BLCv (Tensor): (B, L - 1, Cvae) the teacher pass's inputs.
            logits_cond (Tensor): (B, L, V) the teacher pass's logits (not modified).
            scales (sequence of int, optional): scale indices to select tokens
                for, in increasing order; ``None`` means every scale.

        Returns:
            list: one entry per scale, a (B, pn ** 2) int64 map for the
            requested scales and ``None`` for the others.
        """
        logits_cond = logits_cond.detach()
        slices = scale_slices(patch_nums)
        wanted = set(range(len(slices)) if scales is None else scales)
        logits_uncond = None
        if self.rollout_cfg > 0:
            uncond = torch.full_like(labels, backbone.num_classes)
            logits_uncond = backbone(uncond, x_BLCv, list(patch_nums))  # (B, L, V)
        tokens: List[Optional[torch.Tensor]] = []
        for si, sl in enumerate(slices):
            if si not in wanted:
                tokens.append(None)
                continue
            logits = logits_cond[:, sl]  # (B, pn**2, V)
            if logits_uncond is not None:
                logits = SARRolloutGuidance(self.rollout_cfg).guide(
                    logits, logits_uncond[:, sl], si, patch_nums)
            tokens.append(self.selector(logits))
        return tokens

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        K = len(patch_nums)
        if K < 2:
            raise ValueError(f'SSR needs a schedule of at least 2 scales, got {list(patch_nums)}')
        blocks = scale_slices(patch_nums)
        x_tf = teacher_forced_inputs(tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
        logits_tf = backbone(labels, x_tf, list(patch_nums))  # (B, L, V)
        teacher_idx = self.rollout_tokens(backbone, labels, x_tf, logits_tf, patch_nums,
                                          self.rollout_scales(K))

        student_scales = self.student_scales(K)
        if self.sf_scope == 'last':
            tokens = list(idx_list[:K - 2]) + [teacher_idx[K - 2]]
        else:
            tokens = teacher_idx[:K - 1]
        x_student = teacher_forced_inputs(tokenizer, tokens, patch_nums)  # (B, L-1, Cvae)
        if self.sf_context == 'markov':
            student_logits = torch.cat([
                backbone.forward_student(labels, x_student[:, input_slice(blocks[k])],
                                         list(patch_nums), k)
                for k in student_scales], dim=1)  # (B, Ls, V)
        else:
            logits_shifted = backbone(labels, x_student, list(patch_nums))  # (B, L, V)
            student_logits = torch.cat([logits_shifted[:, blocks[k]] for k in student_scales],
                                       dim=1)  # (B, Ls, V)

        source = teacher_idx if self.target == 'teacher' else idx_list
        student_targets = torch.cat([source[k] for k in student_scales], dim=1)  # (B, Ls)
        return RolloutOutput(
            patch_nums=tuple(patch_nums), logits=logits_tf,
            targets=torch.cat(list(idx_list), dim=1), student_logits=student_logits,
            student_targets=student_targets)
