import pytest
import torch

from sar_mm.models.rollouts import StudentForcing
from rollout_helpers import block, traced, up_code


def test_markov_student_forcing_chains_its_own_predictions(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    out, trace = traced(StudentForcing(), tiny_flexvar)

    calls = trace.calls
    assert len(calls) == K == trace.num_forwards
    # pass 1 holds only the start token
    assert calls[0].kind == 'forward' and calls[0].patch_nums == patch_nums[:1]
    assert calls[0].inputs.shape[1] == 0
    for k in range(1, K):
        assert calls[k].kind == 'student' and calls[k].scale_index == k
        own = calls[k - 1].logits.argmax(-1)  # the model's own tokens of scale k-1
        expected = up_code(tokenizer, own, patch_nums[k - 1], patch_nums[k])
        torch.testing.assert_close(calls[k].inputs, expected, rtol=1e-5, atol=1e-6)
        gt_input = up_code(tokenizer, idx_list[k - 1], patch_nums[k - 1], patch_nums[k])
        if k >= 2:  # the tiny random model does not reproduce the GT maps
            assert not torch.allclose(calls[k].inputs, gt_input)
    # logits of every scale come from the pass that predicted it; targets are GT
    for k in range(K):
        torch.testing.assert_close(out.logits[:, block(patch_nums, k)].detach(), calls[k].logits)
    assert torch.equal(out.targets, torch.cat(idx_list, dim=1))


def test_full_context_student_forcing_uses_prefix_block_causal_passes(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    out, trace = traced(StudentForcing(context='full'), tiny_flexvar)
    calls = trace.calls
    assert [c.kind for c in calls] == ['forward'] * K
    assert [c.patch_nums for c in calls] == [patch_nums[:k + 1] for k in range(K)]
    own = [calls[k].logits[:, block(patch_nums, k)].argmax(-1) for k in range(K)]
    for k in range(1, K):
        # every block of pass k is built from the model's own earlier predictions
        expected = torch.cat([up_code(tokenizer, own[j], patch_nums[j], patch_nums[j + 1])
                              for j in range(k)], dim=1)
        torch.testing.assert_close(calls[k].inputs, expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out.logits[:, block(patch_nums, k)].detach(),
                                   calls[k].logits[:, block(patch_nums, k)])


def test_unknown_context_raises():
    with pytest.raises(ValueError, match='context'):
        StudentForcing(context='causal')
