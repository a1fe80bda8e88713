"""VQ autoencoder loss: hand-computed values and where each term's gradient goes."""
import pytest
import torch

from sar_mm.models.losses import VQLoss, codebook_loss, commitment_loss, reconstruction_loss


def test_reconstruction_loss_hand_computed():
    rec = torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]])  # (1, 1, 2, 2)
    target = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]]])
    # differences 1, -2, 0, -0.25
    assert reconstruction_loss(rec, target, 'l2').item() == pytest.approx((1 + 4 + 0 + 0.0625) / 4)
    assert reconstruction_loss(rec, target, 'l1').item() == pytest.approx((1 + 2 + 0 + 0.25) / 4)
    with pytest.raises(ValueError, match='kind'):
        reconstruction_loss(rec, target, 'huber')


def test_codebook_and_commitment_values_and_gradient_routing():
    z = torch.tensor([[[[0.6]], [[0.8]]]], requires_grad=True)  # (1, 2, 1, 1)
    z_q = torch.tensor([[[[1.0]], [[0.0]]]], requires_grad=True)
    expected = ((1.0 - 0.6) ** 2 + (0.0 - 0.8) ** 2) / 2
    cb = codebook_loss(z, z_q)
    commit = commitment_loss(z, z_q)
    assert cb.item() == pytest.approx(expected) and commit.item() == pytest.approx(expected)
    cb.backward()
    assert z.grad is None  # the codebook term moves the codes only
    assert torch.allclose(z_q.grad.flatten(), torch.tensor([0.4, -0.8]))  # 2 (z_q - z) / 2
    z_q.grad = None
    commit.backward()
    assert z_q.grad is None  # the commitment term moves the encoder only
    assert torch.allclose(z.grad.flatten(), torch.tensor([-0.4, 0.8]))


def test_vq_loss_weights_and_keys():
    torch.manual_seed(0)
    rec, target = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    z, z_q = torch.randn(2, 8, 2, 2), torch.randn(2, 8, 2, 2)
    losses = VQLoss(rec_loss_type='l1', rec_weight=2.0, codebook_weight=0.5,
                    commitment_weight=0.25)(rec, target, z, z_q)
    assert set(losses) == {'loss_rec', 'loss_codebook', 'loss_commit'}
    assert losses['loss_rec'].item() == pytest.approx(2.0 * (rec - target).abs().mean().item())
    mse = (z - z_q).pow(2).mean().item()
    assert losses['loss_codebook'].item() == pytest.approx(0.5 * mse, rel=1e-6)
    assert losses['loss_commit'].item() == pytest.approx(0.25 * mse, rel=1e-6)
    with pytest.raises(ValueError, match='rec_loss_type'):
        VQLoss(rec_loss_type='l3')
