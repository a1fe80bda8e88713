"""sar_mm.benchmarking's timed phases run the model's own train_step and generate (not speed)."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from sar_mm.benchmarking import (TRAIN_FLOPS_MULTIPLIER, TrainRecipe, matmul_flops_per_s,
                                 sampling_call_flops, teacher_forcing_flops, time_sampling,
                                 time_train_steps, transformer_dims)
from sar_mm.models.losses import ContrastiveStudentForcingLoss
from sar_mm.models.rollouts import StaggerScaleRollout
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.setup_env import register_all_modules

PNS = (1, 2, 4)
MODEL = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1,
                   vocab_size=32, embed_dim=4, usage_buffer_size=16),
    backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=32, cvae=4,
                  pos_grid_size=4),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PNS),
    test_cfg=dict(patch_nums=PNS, cfg=2.0, top_k=8, top_p=0.9))
# as the SAR configs build it: clipping, AdamW, the precision policy's wrapper (fp32 here)
OPTIM_WRAPPER = dict(type='SkipNonFiniteAmpOptimWrapper', dtype='fp32', device_type='cpu',
                     optimizer=dict(type='AdamW', lr=1e-2, betas=(0.9, 0.95), weight_decay=0.05),
                     clip_grad=dict(max_norm=2.0))


@pytest.fixture(scope='module', autouse=True)
def scope():
    register_all_modules()


def build_pair():
    """A model with its optim wrapper, and an identical twin."""
    torch.manual_seed(0)
    model = perturb_weights(MODELS.build(MODEL))
    twin = copy.deepcopy(model)
    return ((model, build_optim_wrapper(model, OPTIM_WRAPPER)),
            (twin, build_optim_wrapper(twin, OPTIM_WRAPPER)))


def batch(model) -> dict:
    gen = torch.Generator().manual_seed(1)
    return dict(inputs=torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8, generator=gen),
                data_samples=dict(labels=torch.tensor([3, 7])))


@pytest.mark.parametrize('sar', [False, True])
def test_timed_steps_change_the_weights_as_train_step_does(sar):
    (model, wrapper), (twin, twin_wrapper) = build_pair()
    recipe = (TrainRecipe(StaggerScaleRollout(), ContrastiveStudentForcingLoss()) if sar
              else TrainRecipe(model.rollout, model.loss_module))
    data = batch(model)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    torch.manual_seed(2)  # drop-path draws from the global RNG
    timed = time_train_steps(model, wrapper, data, dict(step=recipe), iters=2, warmup=1,
                             peak_size=32)['step']
    if sar:
        twin.rollout, twin.loss_module = StaggerScaleRollout(), ContrastiveStudentForcingLoss()
    twin.train()
    torch.manual_seed(2)
    for _ in range(3):  # one warm-up and two timed steps
        logs = twin.train_step(data, twin_wrapper)
    after = model.backbone.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    for key, value in twin.backbone.state_dict().items():
        torch.testing.assert_close(after[key], value, rtol=0, atol=0, msg=key)
    assert timed.last_output['loss'] == logs['loss']
    assert type(model.rollout).__name__ == 'TeacherForcing'  # the model's own recipe is back
    assert len(timed.time_s.samples) == 2 and timed.items == 2
    assert timed.matmul_peak == matmul_flops_per_s(torch.float32, torch.device('cpu'), 32)
    if not sar:
        assert timed.flops == 2 * TRAIN_FLOPS_MULTIPLIER * teacher_forcing_flops(
            transformer_dims(model.backbone), PNS)
        assert timed.to_dict()['peak_fraction'] == pytest.approx(
            timed.flops / timed.time_s.median / timed.matmul_peak)


def test_a_random_schedule_is_refused():
    torch.manual_seed(0)
    model = MODELS.build(dict(MODEL, scale_schedule=dict(type='FlexVARRandomScaleSchedule')))
    wrapper = build_optim_wrapper(model, OPTIM_WRAPPER)
    with pytest.raises(ValueError, match='FixedScaleSchedule'):
        time_train_steps(model, wrapper, batch(model),
                         dict(step=TrainRecipe(model.rollout, model.loss_module)), 1, 0, 32)


def test_timed_sampling_returns_what_generate_draws():
    (model, _), (twin, _) = build_pair()
    labels = torch.tensor([1, 4])
    timed = time_sampling(model, labels, iters=1, warmup=0, seeds=[5, 6], peak_size=32,
                          precision='fp32', cfg=1.5)
    expected = twin.generate(labels, seeds=[5, 6], precision='fp32', cfg=1.5)
    assert torch.equal(timed.last_output['images'], expected['images'])
    assert timed.precision.dtype == torch.float32 and timed.items == 2
    assert timed.flops == 2 * sampling_call_flops(model, PNS)
