"""ShapesClassifier: modes, hand-checked loss and accuracy, any input size."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.classifiers import ShapesClassifier


def test_modes_and_loss():
    torch.manual_seed(0)
    model = ShapesClassifier(num_classes=3, widths=(8, 16), feature_dim=5)
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    labels = torch.tensor([0, 1, 2, 1])
    feats, logits = model.features_and_logits(images)
    assert feats.shape == (4, 5) and logits.shape == (4, 3)
    assert torch.allclose(model(images, mode='tensor'), logits)
    losses = model(images, dict(labels=labels), mode='loss')
    assert losses['loss_cls'].item() == pytest.approx(F.cross_entropy(logits, labels).item())
    expected_acc = 100 * sum(int(logits[i].argmax() == labels[i]) for i in range(4)) / 4
    assert losses['accuracy'].item() == pytest.approx(expected_acc)
    out = model(images, dict(labels=labels), mode='predict')
    assert [o['pred_label'] for o in out] == logits.argmax(1).tolist()
    assert [o['label'] for o in out] == labels.tolist()
    assert torch.allclose(out[0]['scores'], logits[0].softmax(0))
    assert model(torch.rand(2, 3, 24, 20), mode='tensor').shape == (2, 3)  # global pooling
    with pytest.raises(ValueError, match='invalid mode'):
        model(images, mode='features')


def test_learns_a_separable_toy_problem():
    torch.manual_seed(0)
    model = ShapesClassifier(num_classes=2, widths=(8, 16), feature_dim=8)
    images = torch.cat([torch.full((8, 3, 8, 8), -0.5), torch.full((8, 3, 8, 8), 0.5)])
    images = images + 0.1 * torch.randn_like(images)
    labels = torch.tensor([0] * 8 + [1] * 8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(40):
        total, _ = model.parse_losses(model(images, dict(labels=labels), mode='loss'))
        opt.zero_grad()
        total.backward()
        opt.step()
    assert model(images, dict(labels=labels), mode='loss')['accuracy'].item() == 100.0
