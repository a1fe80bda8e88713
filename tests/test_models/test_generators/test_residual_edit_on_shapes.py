"""Zero-shot editing with a trained residual tokenizer: the kept region follows the input.

The tokenizer is configs/toy/var_vqvae_tiny_shapes.py, trained here for 60 steps
on 16 px synthetic shapes (VQTokenizerTrainer, as the toy trains its
FlexVAR tokenizer); the backbone is a perturbed depth-1 VAR transformer, whose
regenerated coarse scales differ from the input's as a new object's would.
"""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from sar_mm.datasets.synthetic_shapes import render_shape_image
from sar_mm.models.generators import ScaleWiseAR, to_uint8_images
from sar_mm.models.utils import KnownTokens, regenerate_per_scale
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.setup_env import register_all_modules

CONFIG = Path(__file__).resolve().parents[3] / 'configs' / 'toy' / 'var_vqvae_tiny_shapes.py'
TRAIN_STEPS = 60
SEEDS = list(range(8))


def shapes(seed: int, count: int, start: int = 0, size: int = 16) -> torch.Tensor:
    """(count, 3, size, size) synthetic shapes in [-1, 1]."""
    images = np.stack([render_shape_image(seed, i, size)[0] for i in range(start, start + count)])
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


@pytest.fixture(scope='module')
def cfg():
    register_all_modules(init_default_scope=False)
    return Config.fromfile(str(CONFIG))


@pytest.fixture(scope='module')
def tokenizer(cfg):
    """The config's tokenizer after TRAIN_STEPS AdamW steps of 16 images (data seed 0)."""
    torch.manual_seed(0)
    trainer = MODELS.build(cfg.model)
    optimizer = cfg.optim_wrapper.optimizer
    opt = torch.optim.AdamW(trainer.parameters(), lr=optimizer.lr, betas=optimizer.betas)
    batch = cfg.train_dataloader.batch_size
    losses = []
    for step in range(TRAIN_STEPS):
        total, _ = trainer.parse_losses(trainer(shapes(0, batch, step * batch), mode='loss'))
        opt.zero_grad()
        total.backward()
        opt.step()
        losses.append(total.item())
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])  # it did train
    trainer.tokenizer.freeze()
    return trainer.tokenizer


@pytest.fixture(scope='module')
def model(cfg, tokenizer):
    pns = list(cfg.patch_nums)
    model = ScaleWiseAR(
        tokenizer=tokenizer,
        backbone=dict(type='VARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                      patch_nums=pns),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=pns),
        test_cfg=dict(patch_nums=pns, cfg=2.0, cfg_schedule='var', top_k=16, top_p=0.9)).eval()
    torch.manual_seed(1)
    perturb_weights(model.backbone)
    return model


@pytest.fixture(scope='module')
def images():
    """Eight held-out shapes (data seed 1)."""
    return shapes(1, len(SEEDS))


def object_masks():
    """The middle 8 x 8 px of every image, where the shapes sit."""
    masks = torch.zeros(len(SEEDS), 16, 16, dtype=torch.bool)
    masks[:, 4:12, 4:12] = True
    return masks


def reconstruction(model, images):
    idx = model.encode_scales(images)
    return to_uint8_images(model.tokenizer.decode_idx(idx, model.sampling.patch_nums)[0])


def kept_region_difference(result, recon, masks):
    """Mean |result - reconstruction| over the kept pixels, in grey levels [0, 255]."""
    keep = ~masks[:, None].expand_as(result)
    return (result.float() - recon.float()).abs()[keep].mean().item()


def test_the_kept_region_follows_the_reconstruction_not_the_regenerated_coarse_scales(
        model, images):
    masks = object_masks()
    recon = reconstruction(model, images)
    pns = model.sampling.patch_nums
    regenerate = regenerate_per_scale(masks, pns, model.tokenizer.downsample)
    up_front = model.generate(torch.full((len(SEEDS),), 10), seeds=SEEDS,
                              known_tokens=KnownTokens(model.encode_scales(images), regenerate))
    coherent = model.edit(images, masks, seeds=SEEDS)
    for out in (up_front, coherent):  # the same cells are regenerated
        assert all(torch.equal(a, b) for a, b in zip(out['idx_per_scale'][:3],
                                                      up_front['idx_per_scale'][:3]))
    before = kept_region_difference(up_front['images'], recon, masks)
    after = kept_region_difference(coherent['images'], recon, masks)
    assert after < 0.8 * before, (before, after)


def test_an_empty_mask_is_the_reconstruction(model, images):
    out = model.edit(images, torch.zeros(len(SEEDS), 16, 16, dtype=torch.bool), seeds=SEEDS)
    assert torch.equal(out['images'], reconstruction(model, images))
    assert all(torch.equal(a, b) for a, b in zip(out['idx_per_scale'],
                                                  model.encode_scales(images)))


def test_a_full_mask_is_ordinary_sampling_token_for_token(model, images):
    full = torch.ones(len(SEEDS), 16, 16, dtype=torch.bool)
    labels = torch.arange(len(SEEDS)) % 10
    edited = model.edit(images, full, labels, seeds=SEEDS)
    sampled = model.generate(labels, seeds=SEEDS)
    assert all(torch.equal(a, b) for a, b in zip(edited['idx_per_scale'],
                                                  sampled['idx_per_scale']))
    assert torch.equal(edited['images'], sampled['images'])
