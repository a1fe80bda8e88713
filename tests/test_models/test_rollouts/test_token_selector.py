import pytest
import torch

from sar_mm.models.rollouts import TokenSelector


def test_argmax_and_top1_sampling_agree():
    logits = torch.randn(2, 5, 11, generator=torch.Generator().manual_seed(0))
    copy = logits.clone()
    assert torch.equal(TokenSelector('argmax')(logits), logits.argmax(-1))
    assert torch.equal(TokenSelector('sample', top_k=1)(logits), logits.argmax(-1))
    assert torch.equal(logits, copy)


def test_sampling_stream_is_seeded_and_restorable():
    logits = torch.zeros(4, 16, 50)  # uniform: every draw consumes randomness
    a, b = TokenSelector('sample', seed=1), TokenSelector('sample', seed=1)
    assert b.state_dict() == {}
    assert torch.equal(a(logits), b(logits))
    assert not torch.equal(a(logits), TokenSelector('sample', seed=2)(logits))
    state = a.state_dict()
    expected = a(logits)
    c = TokenSelector('sample', seed=9)
    c.load_state_dict(state)  # applied when its generator is created
    assert torch.equal(c(logits), expected)


def test_state_from_another_device_type_is_refused():
    selector = TokenSelector('sample')
    selector.load_state_dict(dict(device_type='cuda', rng_state=torch.zeros(16, dtype=torch.uint8)))
    with pytest.raises(ValueError, match="saved on 'cuda'"):
        selector(torch.zeros(1, 1, 3))
