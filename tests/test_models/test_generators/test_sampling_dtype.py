"""The dtype of every sampling step in the two protocols (docs/evaluation_protocols.md).

Official samplers under fp16 autocast (``eval_c2i.py``): FlexVAR's ``get_logits``
returns the head's fp16 logits, and guidance and ``sample_with_top_k_top_p_``
run on them; VAR's ``get_logits`` casts to float32. Under CUDA's autocast the
sampler's ``softmax`` computes in float32 (CPU autocast keeps it in fp16), so
the tests that need CUDA's rule emulate it (:class:`CudaAutocastSoftmax`).
"""
import math

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

from sar_mm.models.generators.scale_wise_ar import EVAL_PROTOCOLS
from sar_mm.models.utils import sampling as sampling_module
from sar_mm.models.utils.cfg_schedule import CFGSchedule
from sar_mm.models.utils.sampling import sample_from_logits
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import perturb_weights

PATCH_NUMS = (1, 2, 4)
TOKENIZERS = dict(
    FlexVQVAE=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1,
                   vocab_size=64, embed_dim=8, usage_buffer_size=16),
    MultiScaleVQVAE=dict(type='MultiScaleVQVAE', ch=32, z_channels=8, vocab_size=64,
                         ch_mult=(1, 1), num_res_blocks=1, patch_nums=PATCH_NUMS))
BACKBONES = dict(
    FlexVARTransformer=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64,
                            cvae=8, pos_grid_size=4),
    VARTransformer=dict(type='VARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                        patch_nums=PATCH_NUMS))


def _generator(backbone: str, tokenizer: str):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='ScaleWiseAR', tokenizer=TOKENIZERS[tokenizer], backbone=BACKBONES[backbone],
        test_cfg=dict(patch_nums=PATCH_NUMS, cfg=2.0, cfg_schedule='flexvar', top_k=16,
                      top_p=0.9)))
    perturb_weights(model.backbone, scale=0.5)
    return model.eval()


@pytest.fixture(scope='module')
def flexvar():
    return _generator('FlexVARTransformer', 'FlexVQVAE')


@pytest.fixture(scope='module')
def var():
    return _generator('VARTransformer', 'MultiScaleVQVAE')


@pytest.fixture
def steps(monkeypatch):
    """Every step of each scale: head output, guidance in/out, filtered logits, probabilities."""
    record = dict(head=[], guidance=[], guided=[], filtered=[], probs=[])
    guide = CFGSchedule.guide

    def recording_guide(self, cond, uncond, si, patch_nums):
        record['guidance'].append((cond, uncond, self.strength(si, patch_nums)))
        record['guided'].append(guide(self, cond, uncond, si, patch_nums))
        return record['guided'][-1]

    filter_, multinomial = sampling_module.top_k_top_p_filter, torch.multinomial

    def recording_filter(*args, **kwargs):
        record['filtered'].append(filter_(*args, **kwargs))
        return record['filtered'][-1]

    def recording_multinomial(probs, *args, **kwargs):
        record['probs'].append(probs)
        return multinomial(probs, *args, **kwargs)

    monkeypatch.setattr(CFGSchedule, 'guide', recording_guide)
    monkeypatch.setattr(sampling_module, 'top_k_top_p_filter', recording_filter)
    monkeypatch.setattr(torch, 'multinomial', recording_multinomial)
    return record


def _dtypes(steps: dict) -> dict:
    return dict(logits={c.dtype for c, _, _ in steps['guidance']},
                guided={t.dtype for t in steps['guided']},
                filtered={t.dtype for t in steps['filtered']},
                probs={t.dtype for t in steps['probs']})


def _sample(model, steps, **test_cfg):
    hook = model.backbone.head.register_forward_hook(
        lambda module, inputs, output: steps['head'].append(output.dtype))
    try:
        model.generate(torch.tensor([1, 2]), seeds=[3, 4], **test_cfg)
    finally:
        hook.remove()
    assert len(steps['guided']) == len(PATCH_NUMS)  # one batched run: every scale recorded


def _fp16_guidance(cond: torch.Tensor, uncond: torch.Tensor, t: float) -> np.ndarray:
    """``(1 + t) * cond - t * uncond`` as half-precision arithmetic does it (NumPy): every
    operation in float32 on the half inputs, its result rounded to half."""
    c, u = cond.numpy().astype(np.float32), uncond.numpy().astype(np.float32)
    scaled_c = (np.float32(1 + t) * c).astype(np.float16).astype(np.float32)
    scaled_u = (np.float32(t) * u).astype(np.float16).astype(np.float32)
    return (scaled_c - scaled_u).astype(np.float16)


def test_official_protocol_keeps_flexvar_logits_in_fp16(flexvar, steps):
    """FlexVAR under ``--protocol official``: fp16 logits, fp16 guidance, fp16 top-k / top-p,
    float32 probabilities (CPU fp16 autocast here: the head is a matmul, so fp16 as on CUDA)."""
    _sample(flexvar, steps, **dict(EVAL_PROTOCOLS['official'], batch_invariant=False))
    assert set(steps['head']) == {torch.float16}
    assert _dtypes(steps) == dict(logits={torch.float16}, guided={torch.float16},
                                           filtered={torch.float16}, probs={torch.float32})
    for (cond, uncond, t), guided in zip(steps['guidance'], steps['guided']):
        np.testing.assert_array_equal(guided.numpy(), _fp16_guidance(cond, uncond, t))
    V = steps['filtered'][0].shape[-1]  # one draw per row (its own seed), rows in batch order
    assert torch.equal(torch.cat([p.view(-1, V) for p in steps['probs']]),
                       torch.cat([f.float().softmax(dim=-1).view(-1, V)
                                  for f in steps['filtered']]))


def test_exact_protocol_is_float32_at_every_step(flexvar, steps):
    _sample(flexvar, steps, **dict(EVAL_PROTOCOLS['exact'], batch_invariant=False))
    assert set(steps['head']) == {torch.float32}
    assert _dtypes(steps) == dict(logits={torch.float32}, guided={torch.float32},
                                           filtered={torch.float32}, probs={torch.float32})


def test_float32_logits_under_fp16_autocast(flexvar, steps):
    """``float32_logits=True`` casts the head's fp16 logits before guidance."""
    _sample(flexvar, steps, precision='fp16', batch_invariant=False, float32_logits=True)
    assert set(steps['head']) == {torch.float16}
    assert _dtypes(steps) == dict(logits={torch.float32}, guided={torch.float32},
                                           filtered={torch.float32}, probs={torch.float32})


def test_var_logits_are_float32_in_the_official_protocol(var, steps):
    """VAR's ``get_logits`` casts the head's fp16 output to float32, as the official one does."""
    _sample(var, steps, **dict(EVAL_PROTOCOLS['official'], batch_invariant=False))
    assert set(steps['head']) == {torch.float16}
    assert _dtypes(steps) == dict(logits={torch.float32}, guided={torch.float32},
                                       filtered={torch.float32}, probs={torch.float32})


class CudaAutocastSoftmax(TorchFunctionMode):
    """The rule of CUDA's fp16 autocast the official sampler meets: ``softmax`` (on autocast's
    float32 list) computes half inputs in float32. Every other op of the sampler (top-k,
    sort, comparisons, ``masked_fill_``) runs in the dtype of its input under both autocasts."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.softmax, torch.softmax, torch.nn.functional.softmax):
            if args[0].dtype in (torch.float16, torch.bfloat16):
                args = (args[0].float(),) + tuple(args[1:])
        return func(*args, **kwargs)


def _official_rule(logits: torch.Tensor, top_k: int, top_p: float, generator):
    """The official top-k / top-p rule (in place on a copy), then the multinomial draw."""
    logits = logits.clone()
    kth_largest = logits.topk(top_k, dim=-1)[0].amin(dim=-1, keepdim=True)
    logits.masked_fill_(logits < kth_largest, -math.inf)
    ascending, order = logits.sort(dim=-1)
    low_tail = ascending.softmax(dim=-1).cumsum(dim=-1) <= 1 - top_p
    low_tail[..., -1:] = False
    logits.masked_fill_(low_tail.scatter(-1, order, low_tail), -math.inf)
    probs = logits.softmax(dim=-1).view(-1, logits.shape[-1])
    return probs, torch.multinomial(probs, 1, replacement=True, generator=generator)


def test_cpu_autocast_keeps_softmax_in_half_precision():
    """Why the CUDA rule is emulated: CPU autocast does not follow it."""
    with torch.autocast('cpu', dtype=torch.float16):
        assert torch.randn(4).half().softmax(dim=-1).dtype == torch.float16


def test_sampler_draws_as_the_official_one_under_cuda_autocast(steps):
    """fp16 logits near 64 (fp16 spacing 1/16): sar_mm's sampler filters in fp16 and draws
    from the float32 probabilities that CUDA's autocast gives the official sampler."""
    gen = torch.Generator().manual_seed(0)
    logits = (64 + 2 * torch.randn(2, 8, 512, generator=gen)).half()
    ours = sample_from_logits(logits, top_k=100, top_p=0.9,
                              generator=torch.Generator().manual_seed(1))
    (filtered,), (our_probs,) = steps['filtered'], steps['probs']
    with CudaAutocastSoftmax():
        probs, idx = _official_rule(logits, top_k=100, top_p=0.9,
                                    generator=torch.Generator().manual_seed(1))
    assert filtered.dtype == torch.float16
    assert our_probs.dtype == torch.float32 and torch.equal(our_probs, probs)
    assert torch.equal(ours.view(-1), idx.view(-1))


def test_fp16_guidance_changes_the_top_k_set():
    """The rounding the official protocol keeps: with logits near 64 and t = 1.1 the fp16
    guided logits differ from the float32 ones by about 0.03 on average, up to 0.1, and
    change the top-900 set of every row."""
    gen = torch.Generator().manual_seed(0)
    cond = (64 + 2 * torch.randn(64, 4096, generator=gen)).half()
    uncond = (64 + 2 * torch.randn(64, 4096, generator=gen)).half()
    schedule = CFGSchedule('flexvar', 2.2)
    half = schedule.mix(cond, uncond, 1.1)
    full = schedule.mix(cond.float(), uncond.float(), 1.1)
    assert half.dtype == torch.float16 and full.dtype == torch.float32
    error = (half.float() - full).abs().max().item()
    # one rounding per operation: (1 + t) * cond near 134, t * uncond near 70, result near 64
    assert 0.01 < error <= 1 / 16 + 1 / 32 + 1 / 32
    kept = [sampling_module.top_k_top_p_filter(g, top_k=900).isfinite() for g in (half, full)]
    assert (kept[0] != kept[1]).any(dim=-1).all()
