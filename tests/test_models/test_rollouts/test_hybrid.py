import pytest
import torch

from sar_mm.models.rollouts import HybridTFSF
from rollout_helpers import block, traced, up_code


@pytest.mark.parametrize('tf_max_scale', [3, 5])
def test_hybrid_switches_after_configured_scale(tiny_flexvar, tf_max_scale):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar  # [1, 2, 3, 4, 6, 8]
    n_tf = sum(pn <= tf_max_scale for pn in patch_nums)
    out, trace = traced(HybridTFSF(tf_max_scale=tf_max_scale), tiny_flexvar)

    calls = trace.calls
    assert trace.num_forwards == len(calls) == 1 + len(patch_nums) - n_tf
    tf = calls[0]
    assert tf.kind == 'forward' and tf.patch_nums == patch_nums[:n_tf]
    expected_tf = torch.cat([up_code(tokenizer, idx_list[k], patch_nums[k], patch_nums[k + 1])
                             for k in range(n_tf - 1)], dim=1)
    torch.testing.assert_close(tf.inputs, expected_tf, rtol=1e-5, atol=1e-6)
    # first student scale: seeded by the TF prediction at the last TF scale
    seed_tokens = tf.logits[:, block(patch_nums, n_tf - 1)].argmax(-1)
    first_sf = calls[1]
    assert first_sf.kind == 'student' and first_sf.scale_index == n_tf
    torch.testing.assert_close(first_sf.inputs, up_code(tokenizer, seed_tokens,
                                                        patch_nums[n_tf - 1], patch_nums[n_tf]),
                               rtol=1e-5, atol=1e-6)
    # later student scales: chained on the previous student pass
    for j in range(2, len(calls)):
        k = n_tf + j - 1
        own = calls[j - 1].logits.argmax(-1)
        torch.testing.assert_close(calls[j].inputs,
                                   up_code(tokenizer, own, patch_nums[k - 1], patch_nums[k]),
                                   rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.logits[:, :block(patch_nums, n_tf - 1).stop].detach(),
                               tf.logits)
    assert torch.equal(out.targets, torch.cat(idx_list, dim=1))


def test_hybrid_with_every_scale_teacher_forced_is_teacher_forcing(tiny_flexvar):
    patch_nums = tiny_flexvar[-1]
    _, trace = traced(HybridTFSF(tf_max_scale=patch_nums[-1]), tiny_flexvar)
    assert trace.num_forwards == 1 and trace.calls[0].patch_nums == patch_nums
