import random
from collections import Counter

import pytest
import torch

from sar_mm.models.utils import rank_seed as rank_seed_module
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.models.utils.scale_schedule import (FixedScaleSchedule, FlexVARRandomScaleSchedule,
                                                FlexVARScheduleSettings, draw_flexvar_schedule)
from sar_mm.registry import TASK_UTILS


def spec_draw(rng: random.Random):
    """Spec section 4.1 transcribed literally (the official call order)."""
    if rng.random() < 0.05:
        pns = [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]
    else:
        mid = rng.sample(range(3, 11), 5) + rng.sample(range(11, 16), 2)
        mid.sort()
        pns = [1, 2] + mid + [16]
    u = rng.random()
    for threshold in (0.90, 0.95, 0.98, 0.99):
        if u > threshold:
            pns.pop(rng.choice(range(2, len(pns) - 1)))
    while sum(p * p for p in pns) > 680:
        pns.pop(rng.choice(range(len(pns) - 4, len(pns))))
    return pns


def test_fixed_schedule():
    sched = TASK_UTILS.build(dict(type='FixedScaleSchedule', patch_nums=[1, 2, 4]))
    assert isinstance(sched, FixedScaleSchedule)
    assert sched() == [1, 2, 4] and sched.max_scale == 4
    sched().append(8)
    assert sched() == [1, 2, 4]
    assert sched.state_dict() == {}
    with pytest.raises(ValueError, match='increasing'):
        FixedScaleSchedule([1, 3, 2])
    with pytest.raises(ValueError, match='start with scale 1'):
        FixedScaleSchedule([2, 3])


def test_random_schedule_follows_the_spec_draw_for_draw():
    sched = TASK_UTILS.build(dict(type='FlexVARRandomScaleSchedule', seed=7))
    reference = random.Random(7)  # world size 1, rank 0: seed * 1 + 0
    for _ in range(2000):
        assert sched() == spec_draw(reference)
    # the free function draws with the same official settings by default
    rng, reference = random.Random(11), random.Random(11)
    for _ in range(200):
        assert draw_flexvar_schedule(rng) == spec_draw(reference)


def test_random_schedule_statistics_match_the_spec_simulation():
    sched = FlexVARRandomScaleSchedule(seed=0)
    n = 20000
    draws = [sched() for _ in range(n)]
    for pns in draws:
        # 1 always stays; 2 survives the random drop, but the token cap removes among the
        # last 4 positions, which reach index 1 once a schedule is down to 5 scales
        assert pns[0] == 1 and (pns[1] == 2 or len(pns) <= 5)
        assert all(b > a for a, b in zip(pns, pns[1:]))
        assert sum(p * p for p in pns) <= 680
        assert pns[-1] <= sched.max_scale == 16
    lengths = Counter(len(p) for p in draws)
    # spec 4.1 (2e5 simulated draws): 8 scales 39 %, 9: 48 %, 10: 5 %, 7: 7 %; mean ~591 tokens
    for k, share in ((7, 0.07), (8, 0.39), (9, 0.48), (10, 0.05)):
        assert abs(lengths[k] / n - share) < 0.015, (k, lengths[k] / n)
    mean_tokens = sum(sum(p * p for p in pns) for pns in draws) / n
    assert abs(mean_tokens - 591) < 4
    # spec 2.2: the last scale is 16 in about 66.6 % of the steps
    assert abs(sum(p[-1] == 16 for p in draws) / n - 0.666) < 0.015


def test_each_rank_draws_its_own_schedule(monkeypatch):
    def build(rank, world_size, seed=3):
        monkeypatch.setattr(rank_seed_module, 'get_rank', lambda: rank)
        monkeypatch.setattr(rank_seed_module, 'get_world_size', lambda: world_size)
        return FlexVARRandomScaleSchedule(seed=seed)

    rank0, rank1 = build(0, 4), build(1, 4)
    seq0 = [rank0() for _ in range(20)]
    seq1 = [rank1() for _ in range(20)]
    assert seq0 != seq1
    reference = random.Random(3 * 4 + 1)  # seed * world_size + rank
    assert seq1 == [spec_draw(reference) for _ in range(20)]


def test_state_dict_resumes_the_exact_sequence(tmp_path):
    sched = FlexVARRandomScaleSchedule(seed=1)
    for _ in range(3):
        sched()
    path = tmp_path / 'state.pth'
    torch.save(sched.state_dict(), path)
    expected = [sched() for _ in range(50)]

    resumed = FlexVARRandomScaleSchedule(seed=99)
    resumed.load_state_dict(torch.load(path, weights_only=True))
    assert [resumed() for _ in range(50)] == expected


def test_invalid_random_schedule_settings():
    with pytest.raises(ValueError, match='max_tokens'):
        FlexVARRandomScaleSchedule(max_tokens=100)
    with pytest.raises(ValueError, match='distinct'):
        FlexVARRandomScaleSchedule(high_count=6)
    with pytest.raises(ValueError, match='mid_range <= high_range'):
        FlexVARRandomScaleSchedule(mid_range=(3, 12))
    with pytest.raises(ValueError, match='start with scale 1'):
        FlexVARRandomScaleSchedule(canonical=(2, 4))
    with pytest.raises(TypeError, match='canonicl'):
        FlexVARRandomScaleSchedule(canonicl=(1, 2))
    assert FlexVARRandomScaleSchedule(canonical=CANONICAL_PATCH_NUMS).max_scale == 16
    settings = FlexVARScheduleSettings(canonical=[1, 2, 4], last_scale=20)
    assert settings.canonical == (1, 2, 4) and settings.max_scale == 20
