"""Training-time quantisation of both tokenizer families (straight-through estimator)."""
import pytest
import torch
import torch.nn as nn

from sar_mm.models.tokenizers import ResidualQuantizer
from sar_mm.models.tokenizers.l2norm_quantizer import L2NormQuantizer
from sar_mm.models.tokenizers.residual_quantizer import phi_index_per_scale
from sar_mm.models.tokenizers.straight_through import (quantize_straight_through,
                                                       residual_quantize_straight_through)

PATCH_NUMS = (1, 2, 4)


def test_residual_codes_match_inference_and_gradients_reach_codebook_phi_and_encoder():
    torch.manual_seed(0)
    quantizer = ResidualQuantizer(vocab_size=16, embed_dim=4, share_quant_resi=4)
    latent = torch.randn(2, 4, 4, 4, requires_grad=True)
    q = residual_quantize_straight_through(latent, quantizer, PATCH_NUMS)
    idx_ref, fhat_ref = quantizer.residual_encode(latent.detach(), PATCH_NUMS)
    assert [i.tolist() for i in q.idx] == [i.tolist() for i in idx_ref]
    assert torch.allclose(q.z_q, fhat_ref[-1], atol=1e-6)
    assert torch.allclose(q.z_st, fhat_ref[-1], atol=1e-6)  # forward value: the codes
    # the matched vectors: area(latent) at scale 0, the last scale's residual at full size
    assert torch.allclose(q.vectors[0], latent.detach().mean(dim=(2, 3)), atol=1e-6)
    rest = latent.detach() - fhat_ref[-2]
    assert torch.allclose(q.vectors[-1], rest.permute(0, 2, 3, 1).reshape(-1, 4), atol=1e-5)
    weights = torch.randn_like(q.z_st)
    ((q.z_st * weights).sum() + q.z_q.pow(2).sum()).backward()
    assert torch.allclose(latent.grad, weights)  # straight-through: identity to the encoder
    assert quantizer.embedding.weight.grad.abs().sum() > 0
    used = set(phi_index_per_scale(len(PATCH_NUMS), 4))
    for k, phi in enumerate(quantizer.quant_resi.qresi_ls):
        assert (phi.weight.grad is not None) == (k in used), k


def test_l2norm_family_gives_one_scale_of_unit_vectors():
    torch.manual_seed(0)
    quantizer = L2NormQuantizer(vocab_size=16, embed_dim=4, usage_buffer_size=4)
    latent = torch.randn(2, 4, 4, 4)
    q = quantize_straight_through(quantizer, latent, PATCH_NUMS)
    assert len(q.idx) == 1 and q.idx[0].shape == (2, 16)
    assert torch.equal(q.idx[0], quantizer.quantize(latent))
    (vectors,) = q.vectors
    assert vectors.shape == (32, 4)
    assert torch.allclose(vectors.norm(dim=1), torch.ones(32), atol=1e-6)


def test_other_quantizers_are_refused():
    with pytest.raises(TypeError, match='no training quantisation for Linear'):
        quantize_straight_through(nn.Linear(2, 2), torch.zeros(1, 2, 1, 1), PATCH_NUMS)
