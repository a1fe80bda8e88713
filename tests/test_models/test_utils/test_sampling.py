"""Hand-checked cases for the pure sampling functions."""
import math

import pytest
import torch

from sar_mm.models.utils.sampling import (CFG_SCHEDULES, cfg_strength, greedy_from_logits,
                                          mix_cfg_logits, sample_from_logits,
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


@pytest.mark.parametrize('schedule,si,patch_nums,max_pn,expected', [
    ('var', 0, [1, 2, 3, 4], None, 0.0),
    ('var', 2, [1, 2, 3, 4], None, 2.0 * 2 / 3),
    ('var', 3, [1, 2, 3, 4], None, 2.0),
    # flexvar: ratio = si / min(K - 1, 9), so with 12 scales t exceeds cfg
    ('flexvar', 2, [1, 2, 3, 4], 16, 2.0 * 2 / 3),
    ('flexvar', 11, list(range(1, 13)), 16, 2.0 * 11 / 9),
    ('flexvar', 3, [1, 2, 4, 20], 16, 2.0),  # pn 20 > max_pn -> t = cfg
    ('llamagen', 0, [1, 2, 3], None, 2.0),
    ('sar_rollout', 0, [1, 2, 3], None, 1.0),
    ('sar_rollout', 2, [1, 2, 3], None, 2.0),
])
def test_cfg_strength(schedule, si, patch_nums, max_pn, expected):
    assert cfg_strength(schedule, 2.0, si, patch_nums, max_pn) == pytest.approx(expected)


def test_cfg_strength_single_scale_and_unknown_name():
    assert cfg_strength('var', 3.0, 0, [1]) == 0.0
    with pytest.raises(ValueError, match='unknown cfg schedule'):
        cfg_strength('cosine', 1.0, 0, [1, 2])
    with pytest.raises(ValueError, match='unknown cfg schedule'):
        mix_cfg_logits(torch.zeros(1), torch.zeros(1), 1.0, 'cosine')
    assert set(CFG_SCHEDULES) == {'var', 'flexvar', 'llamagen', 'sar_rollout'}


def test_mix_cfg_logits_forms():
    cond = torch.tensor([2.0, -1.0])
    uncond = torch.tensor([1.0, 1.0])
    # (1 + t) c - t u with t = 0.5: [3 - 0.5, -1.5 - 0.5]
    assert mix_cfg_logits(cond, uncond, 0.5, 'var').tolist() == [2.5, -2.0]
    # u + t (c - u) with t = 3: [1 + 3, 1 - 6]
    assert mix_cfg_logits(cond, uncond, 3.0, 'llamagen').tolist() == [4.0, -5.0]
    # t = 0 returns the conditional logits exactly
    assert torch.equal(mix_cfg_logits(cond, uncond, 0.0, 'var'), cond)


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
