import math

import pytest
import torch

from sar_mm.models.losses import (ScaleCrossEntropyLoss, per_scale_accuracy, scale_token_weights,
                                  token_cross_entropy)
from sar_mm.models.utils.scale_layout import RolloutOutput


def hand_ce(row, target):
    """-log softmax(row)[target] by hand."""
    return -(row[target] - math.log(sum(math.exp(v) for v in row)))


def make_output(patch_nums=(1, 2)):
    # B=2, L=5, V=3; every token has its own logits so the per-token CE differ
    logits = torch.tensor([
        [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
        [[0.0, 4.0, 1.0], [1.0, 1.0, 1.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [3.0, 1.0, 2.0]],
    ])
    targets = torch.tensor([[0, 1, 0, 2, 1], [1, 2, 0, 2, 0]])
    return RolloutOutput(patch_nums=tuple(patch_nums), logits=logits, targets=targets)


def hand_per_token(out):
    return [[hand_ce(out.logits[b, l].tolist(), int(out.targets[b, l])) for l in range(5)]
            for b in range(2)]


def test_uniform_loss_is_the_per_token_mean():
    out = make_output()
    ce = hand_per_token(out)
    expected = sum(sum(row) / 5 for row in ce) / 2
    losses = ScaleCrossEntropyLoss()(out)
    assert losses['loss_ce'].item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(token_cross_entropy(out.logits, out.targets), torch.tensor(ce))


def test_scale_weights_reweight_tokens_by_scale():
    out = make_output()
    ce = hand_per_token(out)
    w = [3.0, 1.0, 1.0, 1.0, 1.0]  # scale 1 owns token 0, scale 2 tokens 1..4
    expected = sum(sum(wi * c for wi, c in zip(w, row)) / sum(w) for row in ce) / 2
    losses = ScaleCrossEntropyLoss(scale_weights={1: 3.0})(out)
    assert losses['loss_ce'].item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(scale_token_weights([1, 2], {1: 3.0}),
                               torch.tensor(w) / sum(w))


def test_label_smoothing_matches_the_hand_formula():
    out = make_output()
    eps, V = 0.1, 3
    expected = 0.0
    for b in range(2):
        for l in range(5):
            row = out.logits[b, l].tolist()
            logz = math.log(sum(math.exp(v) for v in row))
            nll = logz - row[int(out.targets[b, l])]
            smooth = sum(logz - v for v in row) / V
            expected += ((1 - eps) * nll + eps * smooth) / 10
    losses = ScaleCrossEntropyLoss(label_smoothing=eps)(out)
    assert losses['loss_ce'].item() == pytest.approx(expected, rel=1e-6)


def test_accuracy_per_scale_and_key_names():
    out = make_output()
    # argmax: [0, 1, 2, 2, 0] and [1, 0, 0, 2, 0] vs targets [0,1,0,2,1], [1,2,0,2,0]
    accs = per_scale_accuracy(out.logits, out.targets, [1, 2])
    assert accs[0].item() == pytest.approx(100.0)
    assert accs[1].item() == pytest.approx(100.0 * 5 / 8)
    losses = ScaleCrossEntropyLoss(loss_weight=2.0)(out)
    assert losses['acc'].item() == pytest.approx(100.0 * 7 / 10)
    assert losses['acc_scale1'].item() == pytest.approx(100.0)
    assert [k for k in losses if 'loss' in k] == ['loss_ce']
    plain = ScaleCrossEntropyLoss()(out)['loss_ce']
    torch.testing.assert_close(losses['loss_ce'], 2 * plain)
    assert 'acc_scale2' not in ScaleCrossEntropyLoss(log_scale_acc=False)(out)


def test_gradient_flows_and_negative_weights_raise():
    out = make_output()
    out.logits.requires_grad_(True)
    ScaleCrossEntropyLoss()(out)['loss_ce'].backward()
    assert out.logits.grad is not None and out.logits.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='scale weights'):
        scale_token_weights([1, 2], {1: -1.0})
