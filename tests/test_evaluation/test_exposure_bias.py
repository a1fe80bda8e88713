"""Exposure-bias measurement against independent computations of both regimes."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.evaluation.exposure_bias import (format_exposure_bias_table, measure_exposure_bias,
                                             plot_exposure_bias)
from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.utils import SamplingConfig, autoregressive_generate

PATCH_NUMS = (1, 2, 3, 4)


@pytest.fixture(scope='module')
def setup():
    torch.manual_seed(0)
    model = ScaleWiseAR(
        tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
                       vocab_size=24, embed_dim=4, usage_buffer_size=8),
        backbone=dict(type='FlexVARTransformer', depth=1, num_classes=3, vocab_size=24, cvae=4,
                      pos_grid_size=4),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PATCH_NUMS),
        test_cfg=dict(patch_nums=PATCH_NUMS))
    with torch.no_grad():  # leave the near-identity init so that inputs matter
        for p in model.backbone.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.train()
    images = torch.rand(5, 3, 8, 8) * 2 - 1
    labels = torch.tensor([0, 1, 2, 0, 1])
    return model, images, labels


def _per_scale(logits, targets):
    out, begin = [], 0
    for pn in PATCH_NUMS:
        sl = slice(begin, begin + pn * pn)
        begin += pn * pn
        out.append((F.cross_entropy(logits[:, sl].flatten(0, 1), targets[:, sl].flatten()).item(),
                    100 * (logits[:, sl].argmax(-1) == targets[:, sl]).float().mean().item()))
    return out


def test_teacher_forced_and_one_step_match_a_manual_computation(setup):
    model, images, labels = setup
    result = measure_exposure_bias(model, images, labels, mode='one_step', batch_size=2)
    assert model.backbone.training  # mode restored
    model.backbone.eval()
    with torch.no_grad():
        idx = model.tokenizer.img_to_idx(images, PATCH_NUMS)
        targets = torch.cat(idx, dim=1)
        tf = model.backbone(labels, model.tokenizer.idx_to_next_inputs(idx, PATCH_NUMS),
                            PATCH_NUMS)
        own, begin = [], 0
        for pn in PATCH_NUMS:
            own.append(tf[:, begin:begin + pn * pn].argmax(-1))
            begin += pn * pn
        shifted = model.backbone(labels, model.tokenizer.idx_to_next_inputs(own, PATCH_NUMS),
                                 PATCH_NUMS)
    model.backbone.train()
    for k, ((tf_loss, tf_acc), (ro_loss, ro_acc)) in enumerate(
            zip(_per_scale(tf, targets), _per_scale(shifted, targets))):
        assert result['tf_loss'][k] == pytest.approx(tf_loss, rel=1e-5)
        assert result['tf_acc'][k] == pytest.approx(tf_acc)
        assert result['rollout_loss'][k] == pytest.approx(ro_loss, rel=1e-5)
        assert result['rollout_acc'][k] == pytest.approx(ro_acc)
        assert result['acc_gap'][k] == pytest.approx(tf_acc - ro_acc)
    assert result['patch_nums'] == list(PATCH_NUMS) and result['num_images'] == 5


def test_chain_is_greedy_kv_cached_generation(setup):
    model, images, labels = setup
    result = measure_exposure_bias(model, images, labels, mode='chain')
    model.backbone.eval()
    with torch.no_grad():
        gt = model.tokenizer.img_to_idx(images, PATCH_NUMS)
        # cfg 0: the guided logits are the conditional ones
        gen = autoregressive_generate(model.backbone, model.tokenizer, labels,
                                      SamplingConfig(patch_nums=PATCH_NUMS, cfg=0.0, greedy=True),
                                      return_logits=True)
    model.backbone.train()
    for k in range(len(PATCH_NUMS)):
        acc = 100 * (gen.idx_per_scale[k] == gt[k]).float().mean().item()
        loss = F.cross_entropy(gen.logits_per_scale[k].flatten(0, 1), gt[k].flatten()).item()
        assert result['rollout_acc'][k] == pytest.approx(acc)
        assert result['rollout_loss'][k] == pytest.approx(loss, rel=1e-4)
    assert result['rollout_loss'][0] == pytest.approx(result['tf_loss'][0], rel=1e-6)
    assert any(abs(a - b) > 1e-3 for a, b in zip(result['tf_loss'], result['rollout_loss']))


def test_invalid_arguments(setup):
    model, images, labels = setup
    with pytest.raises(ValueError, match='mode'):
        measure_exposure_bias(model, images, labels, mode='full')
    with pytest.raises(ValueError, match='labels'):
        measure_exposure_bias(model, images, labels[:3])


def test_table_and_plot(setup, tmp_path):
    model, images, labels = setup
    result = measure_exposure_bias(model, images, labels, mode='one_step')
    table = format_exposure_bias_table(result)
    assert len(table.splitlines()) == 4 + len(PATCH_NUMS)
    assert f'| 4 | {result["tf_loss"][3]:.3f} |' in table
    out = plot_exposure_bias(dict(model=result), str(tmp_path / 'eb.png'))
    assert (tmp_path / 'eb.png').stat().st_size > 1000 and out.endswith('eb.png')
