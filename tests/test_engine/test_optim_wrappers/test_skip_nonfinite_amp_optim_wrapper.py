"""SkipNonFiniteAmpOptimWrapper: precision policy on CPU, capped fp16 loss scale, clipping after
unscale."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from sar_mm.engine import SkipNonFiniteAmpOptimWrapper
from sar_mm.utils import precision as precision_module
from sar_mm.utils.cpu_bf16 import CpuBf16Decision


def _linear(weight) -> nn.Linear:
    layer = nn.Linear(len(weight), 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight]))
    return layer


@pytest.mark.parametrize('native,dtype', [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_on_cpu_follows_the_precision_policy(monkeypatch, native, dtype):
    monkeypatch.setattr(precision_module, 'cpu_bf16_decision',
                        lambda: CpuBf16Decision(native, 'test'))
    model = _linear([1.0, -2.0])
    wrapper = build_optim_wrapper(model, dict(type='SkipNonFiniteAmpOptimWrapper',
                                              device_type='cpu',
                                              optimizer=dict(type='SGD', lr=0.5)))
    assert wrapper.cast_dtype == dtype and not wrapper.loss_scaler.is_enabled()
    with wrapper.optim_context(model):
        assert model(torch.ones(1, 2)).dtype == dtype


def test_explicit_bf16_on_cpu_trains():
    model = _linear([1.0, -2.0])
    wrapper = build_optim_wrapper(model, dict(type='SkipNonFiniteAmpOptimWrapper',
                                              dtype='bfloat16',
                                              optimizer=dict(type='SGD', lr=0.5)))
    assert isinstance(wrapper, SkipNonFiniteAmpOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16 and not wrapper.loss_scaler.is_enabled()
    x = torch.tensor([[1.0, 1.0]])
    with wrapper.optim_context(model):
        out = model(x)
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().sum())  # d(sum)/dw = x
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[0.5, -2.5]]))
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    wrapper.load_state_dict(state)


def test_fp16_scale_cap_follows_the_official_rule():
    """A scale above the cap after a step is set back to the cap instead of updated."""
    model = _linear([1.0])
    wrapper = SkipNonFiniteAmpOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0),
                                           dtype='float16', device_type='cpu',
                                           loss_scale=dict(init_scale=32768.0, growth_interval=1),
                                           max_loss_scale=32768.0)
    scales = []
    for _ in range(4):
        with wrapper.optim_context(model):
            loss = model(torch.ones(1, 1)).float().sum()
        wrapper.update_params(loss)
        scales.append(wrapper.loss_scaler.get_scale())
    # 32768 -> grows to 65536 -> capped to 32768 -> grows ...
    assert scales == [65536.0, 32768.0, 65536.0, 32768.0]
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 32768.0
    fresh = SkipNonFiniteAmpOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0),
                                         dtype='float16', device_type='cpu',
                                         loss_scale=dict(init_scale=2.0**11))
    fresh.load_state_dict(state)
    assert fresh.loss_scaler.get_scale() == 32768.0


def test_fp16_clips_unscaled_gradients():
    """Clip to norm 1 after unscaling: SGD(lr=1) moves w by the unit vector of the grad."""
    model = _linear([0.0, 0.0])
    wrapper = SkipNonFiniteAmpOptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0),
                                           dtype='float16', device_type='cpu',
                                           loss_scale=dict(init_scale=1024.0),
                                           clip_grad=dict(max_norm=1.0))
    x = torch.tensor([[3.0, 4.0]])  # grad of sum(w.x) is x, norm 5
    with wrapper.optim_context(model):
        loss = model(x).float().sum()
    wrapper.update_params(loss)
    torch.testing.assert_close(model.weight.detach(), torch.tensor([[-0.6, -0.8]]))


def test_invalid_arguments():
    params = [nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="precision must be 'auto'"):
        SkipNonFiniteAmpOptimWrapper(torch.optim.SGD(params, lr=1.0), dtype='float64')
    with pytest.raises(TypeError, match='loss_scale'):
        SkipNonFiniteAmpOptimWrapper(torch.optim.SGD(params, lr=1.0), dtype='float16',
                                     loss_scale='auto')
