"""SARRolloutGuidance against SAR's rollout ramp written out on its own (docs/method.md §2.2):
``t_i = gamma / 2 * (1 + i / (K - 1))``, mixed as ``(1 + t) cond - t uncond``."""
import pytest
import torch

from sar_mm.models.rollouts import SARRolloutGuidance


def sar_t(gamma, i, K):
    return gamma / 2 * (1 + i / (K - 1)) if K > 1 else gamma / 2


@pytest.mark.parametrize('patch_nums', [[1], [1, 2, 3], [1, 2, 3, 4, 5, 6, 8, 10, 13, 16]])
@pytest.mark.parametrize('gamma', [0.5, 1.2, 1.5, 3.0])
def test_ramp_and_mixing_are_sars(patch_nums, gamma):
    guidance = SARRolloutGuidance(gamma)
    g = torch.Generator().manual_seed(0)
    cond, uncond = torch.randn(2, 5, 17, generator=g), torch.randn(2, 5, 17, generator=g)
    K = len(patch_nums)
    for i in range(K):
        t = guidance.strength(i, patch_nums)
        assert t == pytest.approx(sar_t(gamma, i, K), rel=1e-15, abs=0)
        assert torch.equal(guidance.guide(cond, uncond, i, patch_nums),
                           (1 + t) * cond - t * uncond)
    # from gamma / 2 on the first scale to gamma on the last
    assert guidance.strength(0, patch_nums) == gamma / 2
    if K > 1:
        assert guidance.strength(K - 1, patch_nums) == pytest.approx(gamma)

