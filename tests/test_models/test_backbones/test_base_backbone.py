"""BaseScaleTransformer on both backbones: KV-cached sampling context and the logits dtype."""
import weakref

import pytest
import torch

from sar_mm.models.backbones import FlexVARTransformer, VARTransformer
from sar_mm.testing.tiny_components import perturb_weights

PNS = (1, 2, 3)


def tiny(backbone_type):
    """A depth-2 backbone whose blocks are far from the identity (eval mode)."""
    torch.manual_seed(0)
    extra = dict(pos_grid_size=4) if backbone_type is FlexVARTransformer else dict(patch_nums=PNS)
    model = backbone_type(depth=2, num_classes=10, vocab_size=32, cvae=4, drop_path_rate=0.0,
                          **extra).eval()
    perturb_weights(model)
    return model


def scale_slices():
    begin = 0
    for pn in PNS:
        yield slice(begin, begin + pn * pn)
        begin += pn * pn


@pytest.fixture(params=[VARTransformer, FlexVARTransformer], ids=['var', 'flexvar'])
def model(request):
    return tiny(request.param)


@pytest.fixture
def inputs():
    torch.manual_seed(1)
    return torch.tensor([0, 5, 10]), torch.randn(3, 13, 4)  # labels (10 = uncond), (B, L - 1, Cvae)


def test_cached_steps_equal_teacher_forcing_scale_by_scale(model, inputs):
    labels, x = inputs
    with torch.no_grad():
        tf = model(labels, x, PNS)
        with model.kv_cache(labels, PNS) as cache:
            steps = [cache.step(cache.start())]
            for si, rows in list(enumerate(scale_slices()))[1:]:
                x_rows = slice(rows.start - 1, rows.stop - 1)  # x has no start token
                steps.append(cache.step(cache.embed(x[:, x_rows], si)))
    for step, rows in zip(steps, scale_slices()):
        assert step.dtype is torch.float32
        torch.testing.assert_close(step, tf[:, rows], atol=1e-5, rtol=1e-5)


def test_a_plain_forward_is_unaffected_by_an_open_cache(model, inputs):
    labels, x = inputs
    with torch.no_grad():
        before = model(labels, x, PNS)
        with model.kv_cache(labels, PNS) as cache:
            first = cache.step(cache.start())
            assert torch.equal(model(labels, x, PNS), before)
            second = cache.step(cache.embed(x[:, :4], 1))  # the cache is unaffected too
        after = model(labels, x, PNS)
    assert torch.equal(after, before)
    torch.testing.assert_close(torch.cat((first, second), dim=1), before[:, :5],
                               atol=1e-5, rtol=1e-5)


def test_the_cache_is_freed_when_an_exception_leaves_the_context(model, inputs):
    labels, _ = inputs
    with pytest.raises(KeyError, match='inside the loop'):
        with torch.no_grad(), model.kv_cache(labels, PNS) as cache:
            cache.step(cache.start())
            freed = [weakref.ref(t) for c in cache.block_caches for t in (c.k, c.v, c.modulation)]
            raise KeyError('inside the loop')
    assert len(freed) == 6 and all(ref() is None for ref in freed)
    with pytest.raises(RuntimeError, match='closed'):
        cache.start()


def test_cache_errors_name_the_problem(model, inputs):
    labels, x = inputs
    with torch.no_grad(), model.kv_cache(labels, PNS) as cache:
        with pytest.raises(ValueError, match='needs 1 tokens, got 4'):
            cache.step(cache.embed(x[:, :4], 1))
        with pytest.raises(ValueError, match='1 <= si < 3'):
            cache.embed(x[:, :4], 3)
        for si, rows in enumerate(scale_slices()):
            cache.step(cache.start() if si == 0 else cache.embed(x[:, :rows.stop - rows.start], si))
        with pytest.raises(ValueError, match='has been run already'):
            cache.step(cache.start())


def test_logits_dtype_rule_under_autocast(model, inputs):
    """VAR casts its logits to float32, FlexVAR keeps autocast's, in training and sampling steps
    (the sampler decides whether to cast: ``test_cfg.float32_logits``)."""
    labels, x = inputs
    want = torch.float32 if isinstance(model, VARTransformer) else torch.bfloat16
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        assert model(labels, x, PNS).dtype is want
        assert model.forward_student(labels, x[:, 4:], PNS, 2).dtype is want
        with model.kv_cache(labels, PNS) as cache:
            assert cache.step(cache.start()).dtype is want
