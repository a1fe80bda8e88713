import torch

from sar_mm.models.rollouts import InterleaveTFSF
from rollout_helpers import block, traced, up_code


def test_interleave_uses_two_forwards_and_alternates(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    out, trace = traced(InterleaveTFSF(), tiny_flexvar)

    calls = trace.calls
    assert len(calls) == 2 == trace.num_forwards
    assert all(c.kind == 'forward' and c.patch_nums == patch_nums for c in calls)
    tf, mixed = calls
    for k in range(1, K):
        sl = slice(block(patch_nums, k).start - 1, block(patch_nums, k).stop - 1)
        gt_input = up_code(tokenizer, idx_list[k - 1], patch_nums[k - 1], patch_nums[k])
        torch.testing.assert_close(tf.inputs[:, sl], gt_input, rtol=1e-5, atol=1e-6)
        if k % 2 == 1:  # odd scale: one-step SF from the TF prediction of scale k-1
            own = tf.logits[:, block(patch_nums, k - 1)].argmax(-1)
            expected = up_code(tokenizer, own, patch_nums[k - 1], patch_nums[k])
        else:
            expected = gt_input
        torch.testing.assert_close(mixed.inputs[:, sl], expected, rtol=1e-5, atol=1e-6)
    for k in range(K):
        source = tf if k % 2 == 0 else mixed
        torch.testing.assert_close(out.logits[:, block(patch_nums, k)].detach(),
                                   source.logits[:, block(patch_nums, k)])
    assert torch.equal(out.targets, torch.cat(idx_list, dim=1))
