"""Contrastive Student-Forcing Loss of SAR (docs/method.md §3).

``L = L_TF + sigma * L_SF``:

* ``L_TF``: cross-entropy of the teacher-forced pass against the ground truth,
  per-token mean over all ``L`` tokens of the schedule, then the batch mean
  (docs/method.md §4.4);
* ``L_SF``: cross-entropy of the student pass against ``student_targets``,
  a plain mean over the student tokens, weighted by ``sigma`` (0.01 in every
  released script).

Which tokens the student pass is trained towards (the teacher pass's tokens
for CSFL, the ground truth for the naive-SF ablation) is decided by the
rollout (``StaggerScaleRollout(target=...)``), and only there: this loss reads
``student_targets`` as given.
"""
from typing import Dict

import torch
import torch.nn as nn

from sar_mm.registry import LOSSES
from ..utils.scale_layout import RolloutOutput
from .scale_ce_loss import (scale_token_weights, token_accuracy, token_cross_entropy,
                            weighted_token_mean)

__all__ = ['ContrastiveStudentForcingLoss']


@LOSSES.register_module()
class ContrastiveStudentForcingLoss(nn.Module):
    """``loss_tf + loss_sf`` with ``loss_sf = sigma * CE(student, student_targets)``.

    Returns ``loss_tf``, ``loss_sf`` (already multiplied by ``sigma``; the two
    summed terms), and the logged values ``ce_student`` (unweighted student
    cross-entropy), ``acc_tf`` (teacher pass vs ground truth) and ``acc_student``
    (student pass vs its targets), all without the substring ``loss``.

    Args:
        sigma (float): weight of the student term.
        label_smoothing (float): applied to both terms (0 officially).
    """

    def __init__(self, sigma: float = 0.01, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.sigma = sigma
        self.label_smoothing = label_smoothing

    def forward(self, output: RolloutOutput) -> Dict[str, torch.Tensor]:
        """Loss dict of one SSR step.

        Args:
            output (RolloutOutput): ``logits`` (B, L, V), ``targets`` (B, L),
                ``student_logits`` (B, Ls, V), ``student_targets`` (B, Ls).
        """
        if output.student_logits is None or output.student_targets is None:
            raise ValueError('ContrastiveStudentForcingLoss needs a rollout with a student pass '
                             '(StaggerScaleRollout); got one without student_logits')
        ce_tf = token_cross_entropy(output.logits, output.targets, self.label_smoothing)
        loss_tf = weighted_token_mean(ce_tf, scale_token_weights(output.patch_nums,
                                                                 device=ce_tf.device))
        ce_sf = token_cross_entropy(output.student_logits, output.student_targets,
                                    self.label_smoothing).mean()
        return dict(
            loss_tf=loss_tf,
            loss_sf=self.sigma * ce_sf,
            ce_student=ce_sf.detach(),
            acc_tf=token_accuracy(output.logits, output.targets),
            acc_student=token_accuracy(output.student_logits, output.student_targets))
