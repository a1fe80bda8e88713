"""VQTokenizerTrainer: straight-through quantisation, modes, training, and a checkpoint
that loads as the tokenizer of a generator."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from sar_mm.models.generators import ScaleWiseAR, VQTokenizerTrainer
from sar_mm.models.tokenizers.straight_through import l2norm_quantize_straight_through
from sar_mm.models.tokenizers import FlexVQVAE
from sar_mm.registry import MODELS
from sar_mm.utils.setup_env import register_all_modules

CONFIG_DIR = Path(__file__).resolve().parents[3] / 'configs' / 'toy'
TEST_CONFIG_DIR = Path(__file__).resolve().parents[2] / 'data' / 'configs'
TINY_TOKENIZER = dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
                      vocab_size=16, embed_dim=4, usage_buffer_size=8)


def test_straight_through_values_indices_and_gradient():
    codebook = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])  # (V=3, C=2)
    # cells (row-major): (3, 1) -> code 0, (-1, 5) -> code 1, (-2, -2.5) -> code 2
    latent = torch.tensor([[[[3.0, -1.0, -2.0]], [[1.0, 5.0, -2.5]]]], requires_grad=True)
    z_st, z, z_q, idx = l2norm_quantize_straight_through(latent, codebook)
    assert idx.tolist() == [[0, 1, 2]]
    normed = F.normalize(codebook, dim=-1)
    assert torch.allclose(z_q[0, :, 0].t(), normed[[0, 1, 2]])
    assert torch.allclose(z_st, z_q)  # forward value: the code
    assert torch.allclose(z, F.normalize(latent.detach(), dim=1))
    weights = torch.randn_like(z_st)
    (z_st * weights).sum().backward()
    # straight-through: d z_st / d z is the identity, so the latent gets the gradient of
    # normalize(latent) applied to `weights`
    latent_ref = latent.detach().clone().requires_grad_(True)
    (F.normalize(latent_ref, dim=1) * weights).sum().backward()
    assert torch.allclose(latent.grad, latent_ref.grad, atol=1e-6)


def test_modes_and_frozen_tokenizer_rejected():
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TINY_TOKENIZER)
    assert model.tokenizer.frozen is False
    images = torch.rand(2, 3, 8, 8) * 2 - 1
    losses = model(images, mode='loss')
    assert set(losses) == {'loss_rec', 'loss_codebook', 'loss_commit', 'codebook_usage'}
    latent = model.tokenizer.encode_latent(images)  # (2, 4, 4, 4): 32 cells
    used = F.normalize(latent, dim=1).permute(0, 2, 3, 1).reshape(-1, 4)
    expected_usage = 100 * (used @ F.normalize(model.tokenizer.quantize.embedding.weight,
                                               dim=-1).t()).argmax(1).unique().numel() / 16
    assert losses['codebook_usage'].item() == pytest.approx(expected_usage)
    rec = model(images, mode='tensor')
    assert rec.shape == images.shape
    out = model(images, dict(labels=torch.tensor([3, 4])), mode='predict')
    assert [o['label'] for o in out] == [3, 4]
    assert out[0]['rec_img'].dtype == torch.uint8 and out[0]['rec_img'].shape == (3, 8, 8)
    with pytest.raises(ValueError, match='invalid mode'):
        model(images, mode='sample')
    with pytest.raises(ValueError, match='frozen=False'):
        VQTokenizerTrainer(tokenizer=FlexVQVAE(**{k: v for k, v in TINY_TOKENIZER.items()
                                                   if k != 'type'}))


def test_training_reduces_the_loss_and_moves_every_part():
    torch.manual_seed(0)
    model = VQTokenizerTrainer(tokenizer=TINY_TOKENIZER)
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
                 'tokenizer.quantize.embedding.weight', 'tokenizer.quant_conv.weight'):
        assert not torch.equal(before[name], model.state_dict()[name]), name


def test_checkpoint_is_the_tokenizer_part_of_the_toy_generator():
    register_all_modules(init_default_scope=False)
    trainer = MODELS.build(Config.fromfile(str(CONFIG_DIR / 'vqvae_tiny_shapes.py')).model)
    generator_cfg = Config.fromfile(str(CONFIG_DIR / 'flexvar_tiny_shapes_tf_pretrain.py'))
    generator = MODELS.build(generator_cfg.model)
    assert isinstance(generator, ScaleWiseAR)
    tokenizer_keys = {k for k in generator.state_dict() if k.startswith('tokenizer.')}
    assert set(trainer.state_dict()) == tokenizer_keys
    with torch.no_grad():
        for p in trainer.parameters():
            p.add_(0.01)
    missing, unexpected = generator.load_state_dict(trainer.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('backbone.') for k in missing)
    for key, value in trainer.state_dict().items():
        assert torch.equal(generator.state_dict()[key], value), key


def test_var_tokenizer_trains_and_loads_into_a_var_generator():
    """VAR's MultiScaleVQVAE trains with residual quantisation over its schedule."""
    register_all_modules(init_default_scope=False)
    generator_cfg = Config.fromfile(str(TEST_CONFIG_DIR / 'tiny_var_sample.py'))
    torch.manual_seed(0)
    trainer = VQTokenizerTrainer(tokenizer=generator_cfg.model.tokenizer)
    patch_nums = generator_cfg.model.tokenizer.patch_nums
    side = patch_nums[-1] * trainer.tokenizer.downsample
    images = torch.rand(4, 3, side, side) * 2 - 1
    before = {k: v.clone() for k, v in trainer.state_dict().items()}
    opt = torch.optim.Adam(trainer.parameters(), lr=5e-3)
    first = None
    for _ in range(15):
        losses = trainer(images, mode='loss')
        total, _ = trainer.parse_losses(losses)
        first = total.item() if first is None else first
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < 0.7 * first
    # the usage counts every scale of the one shared codebook
    used = torch.cat([i.flatten() for i in trainer.last_matched[0]]).unique().numel()
    assert losses['codebook_usage'].item() == pytest.approx(100 * used / 64)
    assert [i.shape[1] for i in trainer.last_matched[0]] == [pn * pn for pn in patch_nums]
    for name in ('tokenizer.encoder.conv_in.weight', 'tokenizer.decoder.conv_out.weight',
                 'tokenizer.quantize.embedding.weight', 'tokenizer.quant_conv.weight',
                 'tokenizer.quantize.quant_resi.qresi_ls.0.weight'):
        assert not torch.equal(before[name], trainer.state_dict()[name]), name
    generator = MODELS.build(generator_cfg.model)
    missing, unexpected = generator.load_state_dict(trainer.state_dict(), strict=False)
    assert not unexpected and all(k.startswith('backbone.') for k in missing)


def test_codebook_init_std_sets_the_codebook_scale():
    """VAR's residual codebook starts at the latent's scale; a bad std is refused."""
    tokenizer = dict(type='MultiScaleVQVAE', ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 1),
                     num_res_blocks=1, patch_nums=(1, 2, 4))
    torch.manual_seed(0)
    default = VQTokenizerTrainer(tokenizer=tokenizer).codebook.weight
    torch.manual_seed(0)
    narrow = VQTokenizerTrainer(tokenizer=tokenizer, codebook_init_std=0.05).codebook.weight
    assert 0.8 < default.std().item() < 1.2
    assert 0.04 < narrow.std().item() < 0.06
    with pytest.raises(ValueError, match='codebook_init_std must be positive'):
        VQTokenizerTrainer(tokenizer=tokenizer, codebook_init_std=0.0)
