import torch

from sar_mm.models.rollouts import TeacherForcing
from rollout_helpers import traced, up_code


def test_teacher_forcing_one_pass_on_ground_truth_inputs(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    out, trace = traced(TeacherForcing(), tiny_flexvar)

    assert len(trace.calls) == 1 and trace.num_forwards == 1 and trace.selected == []
    call = trace.calls[0]
    assert call.kind == 'forward' and call.patch_nums == patch_nums
    expected = torch.cat([up_code(tokenizer, idx_list[k], patch_nums[k], patch_nums[k + 1])
                          for k in range(len(patch_nums) - 1)], dim=1)
    torch.testing.assert_close(call.inputs, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(out.targets, torch.cat(idx_list, dim=1))
    L = sum(pn * pn for pn in patch_nums)
    assert out.logits.shape == (2, L, 64) and out.logits.requires_grad
    assert out.student_logits is None
