"""CFGSchedule against the official guidance formulas, written out here on their own.

VAR (``VAR.autoregressive_infer_cfg``): ``ratio = si / (K - 1)``, ``t = cfg * ratio``,
guided ``(1 + t) * cond - t * uncond``. FlexVAR: ``ratio = si / min(K - 1, 9)``
and ``t = cfg`` on scales above ``max_pn``, same mixing; with
``used_llamagen_cfg=True`` ``uncond + (cond - uncond) * cfg`` (docs/method.md
§5.2 and §7.7). Strength and mixing are compared bit for bit: ``cfg * (si / d)``
and ``cfg * si / d`` differ in the last bit of a float64 for some values (e.g.
cfg 2.5 at scales 3 and 6 of 10), so the order of operations is checked too.
"""
import pytest
import torch

from sar_mm.models.utils import CFGSchedule, var_guidance

SCHEDULES = [[1], [1, 2], [1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 8, 10, 13, 16],
             [1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 23, 24, 32]]


def official_var_t(cfg, si, patch_nums):
    K = len(patch_nums)
    if K == 1:
        return 0.0
    ratio = si / (K - 1)
    return cfg * ratio


def official_flexvar_t(cfg, si, patch_nums, max_pn):
    if max_pn is not None and patch_nums[si] > max_pn:
        return cfg
    K = len(patch_nums)
    if K == 1:
        return 0.0
    ratio = si / min(K - 1, 9)
    return cfg * ratio


def halves(seed=0, shape=(2, 9, 33)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 4, torch.randn(shape, generator=g) * 4


@pytest.mark.parametrize('patch_nums', SCHEDULES)
@pytest.mark.parametrize('cfg', [0.0, 1.5, 2.5, 4.0])
def test_var_ramp_and_mixing_are_the_official_ones(patch_nums, cfg):
    schedule = CFGSchedule('var', cfg)
    cond, uncond = halves()
    for si in range(len(patch_nums)):
        t = schedule.strength(si, patch_nums)
        assert t == official_var_t(cfg, si, patch_nums)
        assert torch.equal(schedule.guide(cond, uncond, si, patch_nums),
                           (1 + t) * cond - t * uncond)


@pytest.mark.parametrize('patch_nums', SCHEDULES)
@pytest.mark.parametrize('max_pn', [None, 16, 3])
def test_flexvar_ramp_and_mixing_are_the_official_ones(patch_nums, max_pn):
    cfg = 2.5
    schedule = CFGSchedule('flexvar', cfg, max_pn=max_pn)
    cond, uncond = halves(1)
    for si in range(len(patch_nums)):
        t = schedule.strength(si, patch_nums)
        assert t == official_flexvar_t(cfg, si, patch_nums, max_pn)
        assert torch.equal(schedule.guide(cond, uncond, si, patch_nums),
                           (1 + t) * cond - t * uncond)


def test_flexvar_ramp_exceeds_cfg_beyond_ten_scales_and_is_cfg_above_max_pn():
    patch_nums = SCHEDULES[-1]  # 13 scales: ratio 12 / 9 at the last
    assert CFGSchedule('flexvar', 3.0).strength(12, patch_nums) == pytest.approx(4.0)
    assert CFGSchedule('flexvar', 3.0, max_pn=16).strength(12, patch_nums) == 3.0
    assert CFGSchedule('var', 3.0).strength(12, patch_nums) == 3.0


@pytest.mark.parametrize('patch_nums', SCHEDULES)
def test_llamagen_guidance_is_the_official_one(patch_nums):
    cfg = 3.0
    schedule = CFGSchedule('llamagen', cfg)
    cond, uncond = halves(2)
    for si in range(len(patch_nums)):
        assert schedule.strength(si, patch_nums) == cfg
        assert torch.equal(schedule.guide(cond, uncond, si, patch_nums),
                           uncond + (cond - uncond) * cfg)


def test_the_order_of_operations_is_observable():
    """The two mixing forms are the same maths but not the same bits: the checks above can fail."""
    cond, uncond = halves(3, shape=(4, 64, 64))
    t = 1.7
    var_form = CFGSchedule('var', 1.0).mix(cond, uncond, t)
    llamagen_form = CFGSchedule('llamagen', 1.0).mix(cond, uncond, 1 + t)
    torch.testing.assert_close(var_form, llamagen_form)
    assert not torch.equal(var_form, llamagen_form)
    assert torch.equal(var_guidance(cond, uncond, t), var_form)


def test_hand_checked_mixing():
    cond, uncond = torch.tensor([2.0, -1.0]), torch.tensor([1.0, 1.0])
    # (1 + t) c - t u with t = 0.5: [3 - 0.5, -1.5 - 0.5]
    assert CFGSchedule('var', 1.0).mix(cond, uncond, 0.5).tolist() == [2.5, -2.0]
    # u + t (c - u) with t = 3: [1 + 3, 1 - 6]
    assert CFGSchedule('llamagen', 3.0).mix(cond, uncond, 3.0).tolist() == [4.0, -5.0]
    # the first scale of the VAR ramp is the conditional logits exactly
    assert torch.equal(CFGSchedule('var', 5.0).guide(cond, uncond, 0, [1, 2]), cond)


def test_unknown_and_rollout_schedules_are_refused():
    with pytest.raises(ValueError, match=r"cfg_schedule must be one of \('var', 'flexvar', "
                                         r"'llamagen'\), got 'cosine'"):
        CFGSchedule('cosine', 1.0)
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training "
                                         'rollout'):
        CFGSchedule('sar_rollout', 1.0)
    assert CFGSchedule.NAMES == ('var', 'flexvar', 'llamagen')
