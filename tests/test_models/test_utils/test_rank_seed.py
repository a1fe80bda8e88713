"""One rank-seed rule, ``seed * world_size + rank``, for every private RNG of training."""
import random

import pytest
import torch

from sar_mm.models.rollouts.token_selector import TokenSelector
from sar_mm.models.utils import rank_seed as rank_seed_module
from sar_mm.models.utils.scale_schedule import FlexVARRandomScaleSchedule


@pytest.fixture
def rank_1_of_4(monkeypatch):
    monkeypatch.setattr(rank_seed_module, 'get_rank', lambda: 1)
    monkeypatch.setattr(rank_seed_module, 'get_world_size', lambda: 4)


def test_the_rule(rank_1_of_4):
    assert rank_seed_module.rank_seed(3) == 3 * 4 + 1


def test_scale_schedule_and_token_selector_follow_it(rank_1_of_4):
    schedule = FlexVARRandomScaleSchedule(seed=3)
    assert schedule.rng.getstate() == random.Random(13).getstate()
    selector = TokenSelector(mode='sample', seed=3)
    selector(torch.zeros(1, 2, 5))
    assert selector.generator.initial_seed() == 13
