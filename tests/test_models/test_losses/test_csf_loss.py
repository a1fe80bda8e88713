import math

import pytest
import torch

from sar_mm.models.losses import ContrastiveStudentForcingLoss
from sar_mm.models.utils.scale_layout import RolloutOutput


def test_csfl_terms_match_hand_computation():
    # teacher pass: B=1, schedule (1, 2) -> L=5, V=2, all logits zero: CE = ln 2 per token
    logits = torch.zeros(1, 5, 2, requires_grad=True)
    targets = torch.tensor([[0, 1, 0, 1, 0]])
    # student pass on scale 2 (4 tokens): logits favour class 0 by 1 everywhere
    student_logits = torch.tensor([[[1.0, 0.0]] * 4], requires_grad=True)
    student_targets = torch.tensor([[0, 0, 1, 1]])
    out = RolloutOutput(patch_nums=(1, 2), logits=logits, targets=targets,
                        student_logits=student_logits, student_targets=student_targets)
    losses = ContrastiveStudentForcingLoss(sigma=0.01)(out)

    ce_right = math.log(1 + math.exp(-1.0))
    ce_wrong = math.log(1 + math.exp(1.0))
    ce_student = (2 * ce_right + 2 * ce_wrong) / 4
    assert losses['loss_tf'].item() == pytest.approx(math.log(2), rel=1e-6)
    assert losses['loss_sf'].item() == pytest.approx(0.01 * ce_student, rel=1e-6)
    assert losses['ce_student'].item() == pytest.approx(ce_student, rel=1e-6)
    assert losses['acc_student'].item() == pytest.approx(50.0)
    # only the two summed terms carry "loss"; logged values are detached
    assert sorted(k for k in losses if 'loss' in k) == ['loss_sf', 'loss_tf']
    assert not losses['ce_student'].requires_grad

    (losses['loss_tf'] + losses['loss_sf']).backward()
    assert student_logits.grad.abs().sum() > 0 and logits.grad.abs().sum() > 0


def test_csfl_needs_a_student_pass():
    out = RolloutOutput(patch_nums=(1,), logits=torch.zeros(1, 1, 2),
                        targets=torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match='student'):
        ContrastiveStudentForcingLoss()(out)
