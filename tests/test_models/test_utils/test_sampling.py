"""Hand-checked cases for the pure sampling functions."""
import math

import pytest
import torch

from sar_mm.models.utils.sampling import (greedy_from_logits, sample_from_logits,
                                          top_k_top_p_filter)

NEG = -math.inf


def test_top_k_keeps_the_k_largest_and_ties():
    logits = torch.tensor([[[1.0, 3.0, 2.0, 3.0, 0.0]]])
    out = top_k_top_p_filter(logits, top_k=2)
    assert out.tolist() == [[[NEG, 3.0, NEG, 3.0, NEG]]]
    out = top_k_top_p_filter(logits, top_k=3)
    assert out.tolist() == [[[NEG, 3.0, 2.0, 3.0, NEG]]]


def test_top_p_drops_the_low_tail():
    # probabilities 0.1, 0.2, 0.3, 0.4 (ascending order = index order)
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits = probs.log().view(1, 1, 4)
    # p = 0.65: tail with cumulative mass <= 0.35 is {0.1, 0.2} (0.3 <= 0.35)
    out = top_k_top_p_filter(logits, top_p=0.65)
    assert torch.isinf(out[0, 0, :2]).all()
    assert torch.equal(out[0, 0, 2:], logits[0, 0, 2:])
    # a tiny p still keeps the largest logit
    out = top_k_top_p_filter(logits, top_p=1e-6)
    assert torch.isinf(out[0, 0, :3]).all() and out[0, 0, 3] == logits[0, 0, 3]


def test_filter_does_not_mutate_its_input():
    logits = torch.randn(2, 3, 11, generator=torch.Generator().manual_seed(0))
    before = logits.clone()
    top_k_top_p_filter(logits, top_k=3, top_p=0.5)
    sample_from_logits(logits, top_k=3, top_p=0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(logits, before)


def test_disabled_filter_is_identity():
    logits = torch.randn(1, 2, 7)
    assert torch.equal(top_k_top_p_filter(logits, 0, 0.0), logits)


def test_top1_sampling_is_argmax_and_generator_driven():
    logits = torch.randn(3, 5, 50, generator=torch.Generator().manual_seed(3))
    idx = sample_from_logits(logits, top_k=1, generator=torch.Generator().manual_seed(9))
    assert torch.equal(idx, greedy_from_logits(logits))
    assert idx.shape == (3, 5) and idx.dtype == torch.int64
    a = sample_from_logits(logits, generator=torch.Generator().manual_seed(4))
    b = sample_from_logits(logits, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


def test_sampling_respects_the_filter():
    # only indices 1 and 3 survive top-2; many draws never leave that set
    logits = torch.tensor([0.0, 5.0, 1.0, 5.0, 2.0]).expand(1, 400, 5)
    idx = sample_from_logits(logits, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(idx.unique().tolist()) == {1, 3}


def test_per_row_generators_draw_what_each_row_draws_alone():
    logits = torch.randn(3, 5, 40, generator=torch.Generator().manual_seed(0))
    rows = sample_from_logits(logits, top_k=20, top_p=0.9,
                              generator=[torch.Generator().manual_seed(s) for s in (4, 5, 6)])
    for b, s in enumerate((4, 5, 6)):
        alone = sample_from_logits(logits[b:b + 1], top_k=20, top_p=0.9,
                                   generator=torch.Generator().manual_seed(s))
        assert torch.equal(rows[b], alone[0])
    with pytest.raises(ValueError, match='2 generators for a batch of 3'):
        sample_from_logits(logits, generator=[torch.Generator(), torch.Generator()])
