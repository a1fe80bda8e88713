"""Per-step scale schedules of next-scale training (docs/method.md §4.1).

A schedule object is called once per training step and returns the list of
scale side lengths ``patch_nums`` used for that step. Both classes are
registered in ``TASK_UTILS`` (the registry MMEngine keeps for small
non-module helpers of models) and are built by ``ScaleWiseAR``.

Each schedule owns a private ``random.Random`` seeded with
``seed * world_size + rank`` (the official ``seed_everything`` offset), so every
rank draws its own schedule, and exposes ``state_dict()`` /
``load_state_dict()`` so a resumed run continues the exact same sequence.
"""
import random
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sar_mm.registry import TASK_UTILS
from .rank_seed import rank_seed
from .scale_layout import CANONICAL_PATCH_NUMS, check_schedule, num_tokens

__all__ = ['FixedScaleSchedule', 'FlexVARRandomScaleSchedule', 'FlexVARScheduleSettings',
           'draw_flexvar_schedule', 'FLEXVAR_FIXED_HEAD']

#: the first two scales of every non-canonical FlexVAR draw; the random drops never remove them
FLEXVAR_FIXED_HEAD = (1, 2)


@TASK_UTILS.register_module()
class FixedScaleSchedule:
    """The same schedule at every step (VAR; FlexVAR ablations; parity checks).

    It has no random state; ``state_dict()`` is empty so that every schedule
    offers the same checkpoint interface.

    Args:
        patch_nums: scale side lengths, strictly increasing, starting at 1.
    """

    def __init__(self, patch_nums: Sequence[int] = CANONICAL_PATCH_NUMS) -> None:
        check_schedule(patch_nums)
        self.patch_nums = [int(pn) for pn in patch_nums]

    def state_dict(self) -> Dict:
        return {}

    def load_state_dict(self, state: Dict) -> None:
        if state:
            raise ValueError(f'FixedScaleSchedule has no state, got keys {sorted(state)}')

    @property
    def max_scale(self) -> int:
        """Largest scale this schedule can return."""
        return self.patch_nums[-1]

    def __call__(self) -> List[int]:
        return list(self.patch_nums)


@dataclass
class FlexVARScheduleSettings:
    """The settings of FlexVAR's random schedule; the defaults are the official ones.

    Validated on construction (docs/method.md §4.1).

    Attributes:
        canonical: the schedule taken with probability ``canonical_prob``.
        canonical_prob (float): 0.05.
        mid_range, mid_count: 5 distinct scales from 3..10 (inclusive bounds).
        high_range, high_count: 2 distinct scales from 11..15 (inclusive bounds).
        last_scale (int): 16.
        drop_thresholds: 0.90 / 0.95 / 0.98 / 0.99.
        max_tokens (int): 680.
        cap_window (int): the token cap removes among the last 4 positions.
    """

    canonical: Sequence[int] = CANONICAL_PATCH_NUMS
    canonical_prob: float = 0.05
    mid_range: Tuple[int, int] = (3, 10)
    mid_count: int = 5
    high_range: Tuple[int, int] = (11, 15)
    high_count: int = 2
    last_scale: int = 16
    drop_thresholds: Sequence[float] = (0.90, 0.95, 0.98, 0.99)
    max_tokens: int = 680
    cap_window: int = 4

    def __post_init__(self) -> None:
        self.canonical = tuple(int(pn) for pn in self.canonical)
        self.mid_range, self.high_range = tuple(self.mid_range), tuple(self.high_range)
        self.drop_thresholds = tuple(self.drop_thresholds)
        check_schedule(self.canonical)
        head, mid, high = FLEXVAR_FIXED_HEAD[-1], self.mid_range, self.high_range
        if not head < mid[0] <= mid[1] < high[0] <= high[1] < self.last_scale:
            raise ValueError(f'expected {head} < mid_range <= high_range < last_scale, got '
                             f'{mid}, {high}, {self.last_scale}')
        if self.mid_count > mid[1] - mid[0] + 1 or self.high_count > high[1] - high[0] + 1:
            raise ValueError('cannot draw more distinct scales than a range holds')
        if num_tokens(self.canonical) > self.max_tokens:
            raise ValueError(f'the canonical schedule exceeds max_tokens={self.max_tokens}')

    @property
    def max_scale(self) -> int:
        """Largest scale a draw can return."""
        return max(self.last_scale, max(self.canonical))


def draw_flexvar_schedule(rng: random.Random,
                          settings: Optional[FlexVARScheduleSettings] = None) -> List[int]:
    """One draw of FlexVAR's random training schedule (docs/method.md §4.1).

    The calls on ``rng`` are made in the order of the official
    ``VARTrainer.gen_curr_patch_nums``, so a ``random.Random`` with the same
    state gives the same schedule as the official code.

    1. With probability ``canonical_prob`` take ``canonical``; otherwise
       :data:`FLEXVAR_FIXED_HEAD` + sorted(``mid_count`` distinct values of
       ``mid_range`` and ``high_count`` distinct values of ``high_range``) +
       ``[last_scale]``.
    2. Draw ``u ~ U(0, 1)`` once; for every threshold ``u`` exceeds, remove one
       element chosen uniformly among indices ``2 .. len - 2`` (never the first
       two scales nor the last).
    3. While the token count ``sum(pn ** 2)`` exceeds ``max_tokens``, remove
       an element chosen uniformly among the last ``cap_window`` positions (the
       last scale can go here).

    Args:
        rng: the generator to draw from (advanced in place).
        settings: ``None`` for the official settings.

    Returns:
        list[int]: the schedule, strictly increasing.
    """
    s = FlexVARScheduleSettings() if settings is None else settings
    if rng.random() < s.canonical_prob:
        patch_nums = list(s.canonical)
    else:
        middle = (rng.sample(range(s.mid_range[0], s.mid_range[1] + 1), s.mid_count)
                  + rng.sample(range(s.high_range[0], s.high_range[1] + 1), s.high_count))
        middle.sort()
        patch_nums = list(FLEXVAR_FIXED_HEAD) + middle + [s.last_scale]
    u = rng.random()
    for threshold in s.drop_thresholds:
        if u > threshold:
            patch_nums.pop(rng.choice(range(2, len(patch_nums) - 1)))
    while num_tokens(patch_nums) > s.max_tokens:
        patch_nums.pop(rng.choice(range(len(patch_nums) - s.cap_window, len(patch_nums))))
    return patch_nums


@TASK_UTILS.register_module()
class FlexVARRandomScaleSchedule:
    """FlexVAR's random per-step schedule (docs/method.md §4.1), one draw per call.

    ``max_scale`` must not exceed the tokenizer's latent side (16 for 256 px
    images with the VQ-16 tokenizer; the official 512 px crops give a 32 x 32
    latent that is area-pooled down to at most 16); ``ScaleWiseAR`` checks it
    against every batch.

    Args:
        seed (int): base seed; the RNG is seeded ``seed * world_size + rank``.
        **settings: fields of :class:`FlexVARScheduleSettings` (``canonical``,
            ``mid_range``, ``max_tokens``, ...); the defaults are the official ones.
    """

    def __init__(self, seed: int = 0, **settings: Any) -> None:
        self.settings = FlexVARScheduleSettings(**settings)
        self.seed = seed
        self.rng = random.Random(rank_seed(seed))

    @property
    def max_scale(self) -> int:
        """Largest scale this schedule can return."""
        return self.settings.max_scale

    def __call__(self) -> List[int]:
        return draw_flexvar_schedule(self.rng, self.settings)

    def state_dict(self) -> Dict:
        """The RNG state, as plain Python lists (safe for any checkpoint format)."""
        version, internal, gauss = self.rng.getstate()
        return dict(rng_state=[version, list(internal), gauss])

    def load_state_dict(self, state: Dict) -> None:
        version, internal, gauss = state['rng_state']
        self.rng.setstate((version, tuple(internal), gauss))
