import logging

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from sar_mm.models.generators import ScaleWiseAR, to_uint8_images
from sar_mm.models.generators.scale_wise_ar import EVAL_PROTOCOLS, protocol_test_cfg
from sar_mm.models.utils import SamplingConfig, SamplingNumerics
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.precision import resolve_precision

PATCH_NUMS = [1, 2, 4, 8]


def tiny_cfg(**overrides):
    cfg = dict(
        type='ScaleWiseAR',
        tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1,
                       vocab_size=64, embed_dim=8, usage_buffer_size=16),
        backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                      pos_grid_size=8),
        rollout=dict(type='StaggerScaleRollout', top_k=16, top_p=0.9, rollout_cfg=1.2),
        loss=dict(type='ContrastiveStudentForcingLoss', sigma=0.01),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=PATCH_NUMS),
        test_cfg=dict(patch_nums=PATCH_NUMS, cfg=2.0, cfg_schedule='flexvar', top_k=16,
                      top_p=0.9))
    cfg.update(overrides)
    return cfg


def build(**overrides) -> ScaleWiseAR:
    torch.manual_seed(0)
    model = MODELS.build(tiny_cfg(**overrides))
    perturb_weights(model.backbone)
    return model


def batch(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g),
                data_samples=dict(labels=torch.arange(n) % 10))


def test_children_state_dict_and_frozen_tokenizer():
    model = build()
    prefixes = {k.split('.')[0] for k in model.state_dict()}
    assert prefixes == {'tokenizer', 'backbone'}
    assert not any(p.requires_grad for p in model.tokenizer.parameters())
    model.train()
    assert model.backbone.training and not model.tokenizer.training
    assert hasattr(model.rollout, 'state_dict') and hasattr(model.scale_schedule, 'state_dict')


def test_modes_and_unknown_mode():
    model = build()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert {'loss_tf', 'loss_sf', 'acc_tf', 'acc_student'} <= set(losses)
    logits = model(**data, mode='tensor')
    assert logits.shape == (2, sum(pn * pn for pn in PATCH_NUMS), 64)
    with pytest.raises(ValueError, match='invalid mode'):
        model(**data, mode='sample')


def test_tensor_mode_is_the_teacher_forced_pass():
    model = build().eval()
    data = model.data_preprocessor(batch(), False)
    idx = model.tokenizer.img_to_idx(data['inputs'], PATCH_NUMS)
    x = model.tokenizer.idx_to_next_inputs(idx, PATCH_NUMS)
    expected = model.backbone(data['data_samples']['labels'], x, PATCH_NUMS)
    torch.testing.assert_close(model(**data, mode='tensor'), expected)


def test_schedule_larger_than_the_latent_is_refused():
    model = build(scale_schedule=dict(type='FlexVARRandomScaleSchedule'))
    data = model.data_preprocessor(batch(), True)
    with pytest.raises(ValueError, match='latent side of 8'):
        model(**data, mode='loss')
    with pytest.raises(KeyError, match='unknown test_cfg'):
        build(test_cfg=dict(temperature=1.0))


def test_predict_is_deterministic_per_label_and_seed_regardless_of_batch():
    model = build().eval()
    samples = dict(labels=torch.tensor([1, 2, 3]), seeds=torch.tensor([7, 8, 9]),
                   sample_idx=torch.tensor([10, 11, 12]))
    full = model(None, samples, mode='predict')
    assert [d['sample_idx'] for d in full] == [10, 11, 12]
    assert [(d['label'], d['seed']) for d in full] == [(1, 7), (2, 8), (3, 9)]
    img = full[1]['fake_img']
    assert img.dtype == torch.uint8 and img.shape == (3, 16, 16)
    alone = model(None, dict(labels=torch.tensor([2]), seeds=torch.tensor([8]),
                             sample_idx=torch.tensor([11])), mode='predict')
    assert torch.equal(alone[0]['fake_img'], img)
    reordered = model(None, dict(labels=torch.tensor([3, 2]), seeds=torch.tensor([9, 8]),
                                 sample_idx=torch.tensor([12, 11])), mode='predict')
    assert torch.equal(reordered[1]['fake_img'], img)
    other_seed = model(None, dict(labels=torch.tensor([2]), seeds=torch.tensor([1234])),
                       mode='predict')
    other_tokens = model.generate(torch.tensor([2]), seeds=[1234])['idx_per_scale'][-1]
    same_tokens = model.generate(torch.tensor([2]), seeds=[8])['idx_per_scale'][-1]
    assert not torch.equal(other_tokens, same_tokens)
    assert other_seed[0]['seed'] == 1234


def test_batched_sampling_uses_one_random_stream_per_seed():
    model = build().eval()
    labels, seeds = torch.tensor([1, 2, 3]), [7, 8, 9]
    per_sample = model.generate(labels, seeds=seeds)
    model.numerics = model.numerics.replace(batch_invariant=False)
    batched = model.generate(labels, seeds=seeds)
    for a, b in zip(per_sample['idx_per_scale'], batched['idx_per_scale']):
        assert torch.equal(a, b)
    shared_stream = model.generate(labels, generator=torch.Generator().manual_seed(7))
    assert not all(torch.equal(a, b) for a, b in
                   zip(per_sample['idx_per_scale'], shared_stream['idx_per_scale']))


def test_generate_outputs_and_restores_train_mode():
    model = build().train()
    out = model.generate(torch.tensor([0, 5]), generator=torch.Generator().manual_seed(0),
                         return_scale_images=True, cfg=1.0)
    assert out['images'].shape == (2, 3, 16, 16) and out['images'].dtype == torch.uint8
    assert [t.shape[1] for t in out['idx_per_scale']] == [pn * pn for pn in PATCH_NUMS]
    assert [im.shape[-1] for im in out['scale_images']] == [2 * pn for pn in PATCH_NUMS]
    assert model.backbone.training


def test_to_uint8_rounds_half_up():
    x = torch.tensor([-1.0, 1.0, 0.0, -0.996, 2.0]).view(1, 1, 1, 5)
    # 127.5 x + 128: 0.5, 255.5, 128, 1.01, 383 -> 0, 255, 128, 1, 255
    assert to_uint8_images(x).flatten().tolist() == [0, 255, 128, 1, 255]


def test_tiny_sar_run_decreases_its_training_loss():
    model = build()
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=3e-3), clip_grad=dict(max_norm=2.0))
    data = batch(n=4, seed=1)
    totals = []
    model.train()
    for _ in range(30):
        log_vars = model.train_step(data, optim)
        totals.append(log_vars['loss'].item())
    assert sum(totals[-5:]) / 5 < 0.8 * sum(totals[:5]) / 5, totals


def test_tokenizer_runs_in_float32_under_autocast():
    model = build().eval()
    data = model.data_preprocessor(batch(n=4, seed=3), False)
    images, labels = data['inputs'], data['data_samples']['labels']
    reference = model.rollout_step(images, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # the encoder itself would change tokens in bfloat16 ...
        bf16_idx = torch.cat(model.tokenizer.img_to_idx(images, PATCH_NUMS), dim=1)
        out = model.rollout_step(images, labels)
    assert not torch.equal(bf16_idx, reference.targets)
    # ... but the generator encodes outside autocast, like the official trainer
    assert torch.equal(out.targets, reference.targets)


def test_sampling_precision_is_fp32_by_default_and_autocasts_on_request():
    model = build().eval()
    seen = []
    model.backbone.head.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
    fp32 = model.generate(torch.tensor([1, 2]), seeds=[3, 4])
    assert set(seen) == {torch.float32} and model.numerics.precision == 'fp32'
    seen.clear()
    bf16 = model.generate(torch.tensor([1, 2]), seeds=[3, 4], precision='bf16')
    assert set(seen) == {torch.bfloat16}
    assert bf16['images'].shape == fp32['images'].shape and bf16['images'].dtype == torch.uint8
    seen.clear()
    model.generate(torch.tensor([1]), seeds=[3], precision='auto')
    assert set(seen) == {resolve_precision('auto', 'cpu').dtype}
    with pytest.raises(ValueError, match='precision'):
        build(test_cfg=dict(patch_nums=PATCH_NUMS, precision='half'))


def test_bad_test_cfg_values_fail_at_build_time():
    for bad in ('Auto', 'yes', 1, 0, None):
        with pytest.raises(ValueError, match="True, False or 'auto'"):
            build(test_cfg=dict(patch_nums=PATCH_NUMS, batch_invariant=bad))
    with pytest.raises(ValueError, match='tf32 must be True or False'):
        build(test_cfg=dict(patch_nums=PATCH_NUMS, tf32='on'))
    with pytest.raises(ValueError, match='test_cfg.top_p must be a number in'):
        build(test_cfg=dict(patch_nums=PATCH_NUMS, top_p=95))
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training"):
        build(test_cfg=dict(patch_nums=PATCH_NUMS, cfg_schedule='sar_rollout'))


def test_test_cfg_becomes_the_sampling_and_numerics_objects():
    model = build(test_cfg=dict(patch_nums=PATCH_NUMS, cfg=2, cfg_schedule='flexvar', top_k=16,
                                top_p=0.9, precision='bf16', batch_invariant='auto'))
    assert model.sampling == SamplingConfig(patch_nums=tuple(PATCH_NUMS), cfg=2.0,
                                            cfg_schedule='flexvar', top_k=16, top_p=0.9)
    assert model.numerics == SamplingNumerics(precision='bf16', batch_invariant='auto')


def test_per_call_overrides_go_through_the_settings_objects():
    model = build().eval()
    labels, seeds = torch.tensor([1, 2]), [3, 4]
    overridden = model.generate(labels, seeds=seeds, cfg=0.5, top_k=1)
    given = model.generate(labels, seeds=seeds, sampling=model.sampling.replace(cfg=0.5, top_k=1))
    assert torch.equal(overridden['images'], given['images'])
    assert model.sampling.cfg == 2.0 and model.sampling.top_k == 16  # the model keeps its own
    # top-k 1 draws the arg-max: the seed no longer matters
    other_seeds = model.generate(labels, seeds=[5, 6], cfg=0.5, top_k=1)
    assert torch.equal(overridden['images'], other_seeds['images'])
    with pytest.raises(ValueError, match='test_cfg.top_k must be an int >= 0'):
        model.generate(labels, seeds=seeds, top_k=-1)
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training"):
        model.generate(labels, seeds=seeds, cfg_schedule='sar_rollout')
    with pytest.raises(KeyError, match=r"unknown test_cfg keys \['temperature'\]"):
        model.generate(labels, seeds=seeds, temperature=0.9)


def test_auto_batch_invariance_runs_one_sample_at_a_time_on_cpu():
    model = build(test_cfg=dict(patch_nums=PATCH_NUMS, cfg=2.0, top_k=16, top_p=0.9,
                                batch_invariant='auto')).eval()
    rows = []
    model.backbone.head.register_forward_hook(lambda mod, inp, out: rows.append(out.shape[0]))
    labels, seeds = torch.tensor([1, 2, 3]), [7, 8, 9]
    auto = model.generate(labels, seeds=seeds)
    assert set(rows) == {2}  # one sample and its unconditional row
    rows.clear()
    batched = model.generate(labels, seeds=seeds, batch_invariant=False)
    assert set(rows) == {6}
    assert torch.equal(auto['images'], batched['images'])


def _log_records():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    return records, handler


def test_protocols_on_cuda_and_the_cpu_fallback_of_official():
    assert protocol_test_cfg('exact', 'cuda') == protocol_test_cfg('exact', 'cpu') == dict(
        precision='fp32', tf32=False, batch_invariant=True, float32_logits=True)
    # the official samplers keep FlexVAR's fp16 logits through guidance and top-k / top-p
    assert protocol_test_cfg('official', 'cuda') == dict(precision='fp16', tf32=True,
                                                         batch_invariant=False,
                                                         float32_logits=False)
    logger = MMLogger.get_current_instance()
    records, handler = _log_records()
    logger.addHandler(handler)
    try:
        on_cpu = protocol_test_cfg('official', 'cpu')
    finally:
        logger.removeHandler(handler)
    # never fp16 on a CPU: the precision policy, said in a warning
    assert on_cpu == dict(precision='auto', tf32=False, batch_invariant=False,
                          float32_logits=True)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "precision policy ('auto')" in records[0].getMessage()
    assert EVAL_PROTOCOLS['official']['precision'] == 'fp16'  # the table is not modified
    with pytest.raises(ValueError, match='protocol must be one of'):
        protocol_test_cfg('paper', 'cuda')


def test_tf32_is_switched_only_while_sampling():
    model = build().eval()
    seen = []
    model.backbone.head.register_forward_hook(lambda mod, inp, out: seen.append(
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)))
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = False, True
        exact = model.generate(torch.tensor([1, 2]), seeds=[3, 4])
        assert set(seen) == {(False, False)}  # default tf32=False: true fp32 on CUDA
        seen.clear()
        official = model.generate(torch.tensor([1, 2]), seeds=[3, 4], tf32=True)
        assert set(seen) == {(True, True)}
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (
            False, True)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    assert torch.equal(exact['images'], official['images'])  # TF32 is a CUDA setting only


def _rollout_rng_states(model):
    return model.rollout.state_dict(), model.scale_schedule.state_dict()


def test_training_on_cached_latents_equals_training_on_the_images():
    """A LatentDataset batch gives the same targets, logits and losses as its images."""
    model = build(scale_schedule=dict(type='FlexVARRandomScaleSchedule', canonical=PATCH_NUMS,
                                      mid_range=(3, 4), mid_count=1, high_range=(5, 6),
                                      high_count=1, last_scale=8,
                                      drop_thresholds=(0.9, 0.95, 0.98), max_tokens=1000, seed=5))
    data = model.data_preprocessor(batch(n=3, seed=4), True)
    images, labels = data['inputs'], data['data_samples']['labels']
    latents = model.tokenizer.encode_latent(images)  # (B, Cvae, h, w), what the file holds
    model.loss(images, dict(labels=labels))  # creates the rollout's generator
    rollout_state, schedule_state = _rollout_rng_states(model)
    torch.manual_seed(1)  # dropout and drop-path
    from_images = model.loss(images, dict(labels=labels))
    model.rollout.load_state_dict(rollout_state)  # same schedule draw and rolled-out tokens
    model.scale_schedule.load_state_dict(schedule_state)
    torch.manual_seed(1)
    from_latents = model(None, dict(labels=labels, latents=latents), mode='loss')
    assert from_images.keys() == from_latents.keys()
    for key, value in from_images.items():
        torch.testing.assert_close(from_latents[key], value, msg=key)
    with pytest.raises(ValueError, match='either images'):
        model.loss(images, dict(labels=labels, latents=latents))
    with pytest.raises(ValueError, match=r'\(2, 2\) latents give a latent side of 2'):
        model.loss(None, dict(labels=labels, latents=latents[..., :2, :2]))
