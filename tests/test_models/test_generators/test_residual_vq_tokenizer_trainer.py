"""ResidualVQTokenizerTrainer: residual straight-through quantisation, training, checkpoint."""
import pytest
import torch

from sar_mm.models.generators import (ResidualVQTokenizerTrainer, ScaleWiseAR,
                                      residual_quantize_straight_through)
from sar_mm.models.tokenizers import MultiScaleVQVAE

PATCH_NUMS = (1, 2, 4)
TINY_TOKENIZER = dict(type='MultiScaleVQVAE', ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 1),
                      num_res_blocks=1, patch_nums=PATCH_NUMS)


def test_straight_through_is_f_hat_forward_and_identity_backward():
    torch.manual_seed(0)
    tokenizer = MultiScaleVQVAE(**{k: v for k, v in TINY_TOKENIZER.items() if k != 'type'})
    latent = torch.randn(2, 8, 4, 4, requires_grad=True)
    f_st, f, f_hat, idx = residual_quantize_straight_through(latent, tokenizer.quantize,
                                                             list(PATCH_NUMS))
    assert torch.allclose(f_st, f_hat, atol=1e-6)
    assert torch.equal(idx, torch.cat(tokenizer.latent_to_idx(latent.detach(), PATCH_NUMS), 1))
    f_st.sum().backward()
    assert torch.equal(latent.grad, torch.ones_like(latent))


def test_training_reduces_the_loss_and_moves_every_part():
    torch.manual_seed(0)
    model = ResidualVQTokenizerTrainer(tokenizer=TINY_TOKENIZER, codebook_init_std=0.1)
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    first = None
    for _ in range(15):
        total, _ = model.parse_losses(model(images, mode='loss'))
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.7 * first
    for name in ('tokenizer.encoder.conv_in.weight', 'tokenizer.decoder.conv_out.weight',
                 'tokenizer.quantize.embedding.weight', 'tokenizer.quant_conv.weight',
                 'tokenizer.quantize.quant_resi.qresi_ls.0.weight'):
        assert not torch.equal(before[name], model.state_dict()[name]), name


def test_codebook_init_std():
    torch.manual_seed(0)
    weight = ResidualVQTokenizerTrainer(
        tokenizer=TINY_TOKENIZER, codebook_init_std=0.05).tokenizer.quantize.embedding.weight
    assert 0.04 < weight.std().item() < 0.06
    with pytest.raises(ValueError, match='codebook_init_std must be positive, got 0'):
        ResidualVQTokenizerTrainer(tokenizer=TINY_TOKENIZER, codebook_init_std=0)


def test_checkpoint_is_the_tokenizer_part_of_a_var_generator():
    trainer = ResidualVQTokenizerTrainer(tokenizer=TINY_TOKENIZER)
    generator = ScaleWiseAR(
        tokenizer=TINY_TOKENIZER,
        backbone=dict(type='VARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                      patch_nums=PATCH_NUMS),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PATCH_NUMS),
        test_cfg=dict(patch_nums=PATCH_NUMS))
    assert set(trainer.state_dict()) == {k for k in generator.state_dict()
                                         if k.startswith('tokenizer.')}
