import pytest
import torch

from sar_mm.models.losses import ContrastiveStudentForcingLoss
from sar_mm.models.rollouts import StaggerScaleRollout
from rollout_helpers import block, traced, up_code


def argmax_ssr(**kwargs):
    return StaggerScaleRollout(token_selection='argmax', rollout_cfg=0.0, **kwargs)


def test_last_scope_student_forces_only_the_last_transition(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    ssr = argmax_ssr()
    out, trace = traced(ssr, tiny_flexvar)

    calls = trace.calls
    assert [c.kind for c in calls] == ['forward', 'student'] and trace.num_forwards == 2
    tf, student = calls
    assert tf.patch_nums == patch_nums and student.scale_index == K - 1
    teacher = [tf.logits[:, block(patch_nums, k)].argmax(-1) for k in range(K)]
    # tokens are drawn only where the step reads them: student input K-2, target K-1
    teacher_idx = trace.selected_per_scale()
    assert all(teacher_idx[k] is None for k in range(K - 2))
    for k in (K - 2, K - 1):
        assert torch.equal(teacher_idx[k], teacher[k])
    expected = up_code(tokenizer, teacher[K - 2], patch_nums[K - 2], patch_nums[K - 1])
    torch.testing.assert_close(student.inputs, expected, rtol=1e-5, atol=1e-6)
    assert ssr.student_scales(K) == (K - 1,)
    assert torch.equal(out.student_targets, teacher[K - 1])
    assert torch.equal(out.targets, torch.cat(idx_list, dim=1))
    torch.testing.assert_close(out.logits.detach(), tf.logits)
    torch.testing.assert_close(out.student_logits.detach(), student.logits)


def test_gt_target_is_the_naive_sf_ablation(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    out, trace = traced(argmax_ssr(target='gt'), tiny_flexvar)
    assert torch.equal(out.student_targets, idx_list[-1])
    K = len(patch_nums)
    assert [k for k, idx in enumerate(trace.selected_per_scale()) if idx is not None] == [K - 2]


@pytest.mark.parametrize('scope,target,expected', [
    ('last', 'teacher', (4, 5)), ('last', 'gt', (4, )),
    ('all', 'teacher', (0, 1, 2, 3, 4, 5)), ('all', 'gt', (0, 1, 2, 3, 4))])
def test_rollout_scales_are_the_ones_the_student_pass_reads(scope, target, expected):
    assert argmax_ssr(sf_scope=scope, target=target).rollout_scales(6) == expected


def test_all_scope_markov_student_forces_every_transition(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    ssr = argmax_ssr(sf_scope='all')
    out, trace = traced(ssr, tiny_flexvar)
    tf, *students = trace.calls
    assert [c.scale_index for c in students] == list(range(1, K))
    assert trace.num_forwards == K and ssr.student_scales(K) == tuple(range(1, K))
    teacher = [tf.logits[:, block(patch_nums, k)].argmax(-1) for k in range(K)]
    for k, call in zip(range(1, K), students):
        torch.testing.assert_close(
            call.inputs, up_code(tokenizer, teacher[k - 1], patch_nums[k - 1], patch_nums[k]),
            rtol=1e-5, atol=1e-6)
    assert torch.equal(out.student_targets, torch.cat(teacher[1:], dim=1))


def test_full_context_uses_the_block_causal_forward(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    out, trace = traced(argmax_ssr(sf_scope='all', sf_context='full'), tiny_flexvar)
    tf, shifted = trace.calls
    assert shifted.kind == 'forward' and shifted.patch_nums == patch_nums
    assert trace.num_forwards == 2
    teacher = [tf.logits[:, block(patch_nums, k)].argmax(-1) for k in range(K)]
    expected = torch.cat([up_code(tokenizer, teacher[k], patch_nums[k], patch_nums[k + 1])
                          for k in range(K - 1)], dim=1)
    torch.testing.assert_close(shifted.inputs, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.student_logits.detach(), shifted.logits[:, 1:])


def test_full_context_last_scope_keeps_ground_truth_context(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K = len(patch_nums)
    out, trace = traced(argmax_ssr(sf_context='full'), tiny_flexvar)
    tf, shifted = trace.calls
    n_gt = sum(pn * pn for pn in patch_nums[1:K - 1])
    torch.testing.assert_close(shifted.inputs[:, :n_gt], tf.inputs[:, :n_gt])
    teacher_prev = tf.logits[:, block(patch_nums, K - 2)].argmax(-1)
    torch.testing.assert_close(shifted.inputs[:, n_gt:],
                               up_code(tokenizer, teacher_prev, patch_nums[K - 2], patch_nums[-1]),
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.student_logits.detach(),
                               shifted.logits[:, block(patch_nums, K - 1)])


def test_rollout_cfg_guides_teacher_tokens_with_the_sar_ramp(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    K, gamma = len(patch_nums), 1.5
    _, trace = traced(StaggerScaleRollout(token_selection='argmax', rollout_cfg=gamma),
                      tiny_flexvar)
    tf, uncond, student = trace.calls
    assert tf.grad_enabled and not uncond.grad_enabled and student.grad_enabled
    assert trace.num_forwards == 2
    assert torch.equal(uncond.labels, torch.full_like(labels, backbone.num_classes))
    assert torch.equal(uncond.inputs, tf.inputs)
    for i in (K - 2, K - 1):
        t = gamma * 0.5 * (1 + i / (K - 1))  # spec 2.2
        sl = block(patch_nums, i)
        guided = (1 + t) * tf.logits[:, sl] - t * uncond.logits[:, sl]
        assert torch.equal(trace.selected_per_scale()[i], guided.argmax(-1))


def test_no_grad_uncond_half_gives_the_gradient_of_the_2b_batch(tiny_flexvar):
    tokenizer, inner, labels, idx_list, patch_nums = tiny_flexvar
    gamma, B, K = 1.2, labels.shape[0], len(patch_nums)
    loss_fn = ContrastiveStudentForcingLoss(sigma=0.5)

    out = StaggerScaleRollout(token_selection='argmax', rollout_cfg=gamma)(
        inner, tokenizer, labels, idx_list, patch_nums)
    losses = loss_fn(out)
    inner.zero_grad()
    (losses['loss_tf'] + losses['loss_sf']).backward()
    grads = {n: p.grad.clone() for n, p in inner.named_parameters()}

    # official form: one 2B pass [cond; uncond] with autograd on, loss on the first B rows
    x = tokenizer.idx_to_next_inputs(idx_list, patch_nums)
    labels_2b = torch.cat([labels, torch.full_like(labels, inner.num_classes)])
    logits_2b = inner(labels_2b, torch.cat([x, x]), patch_nums)
    cond, unc = logits_2b[:B], logits_2b[B:].detach()
    teacher = []
    for i in range(K):
        t = gamma * 0.5 * (1 + i / (K - 1))
        sl = block(patch_nums, i)
        teacher.append(((1 + t) * cond[:, sl].detach() - t * unc[:, sl]).argmax(-1))
    x_sf = up_code(tokenizer, teacher[K - 2], patch_nums[K - 2], patch_nums[K - 1])
    logits_sf = inner.forward_student(labels, x_sf, patch_nums, K - 1)
    ce = torch.nn.functional.cross_entropy
    loss = (ce(cond.flatten(0, 1), torch.cat(idx_list, 1).flatten())
            + 0.5 * ce(logits_sf.flatten(0, 1), teacher[K - 1].flatten()))
    inner.zero_grad()
    loss.backward()
    for name, p in inner.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    torch.testing.assert_close(losses['loss_tf'] + losses['loss_sf'], loss)


def test_sampling_is_reproducible_from_saved_state_and_leaves_logits_intact(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    ssr = StaggerScaleRollout(token_selection='sample', top_k=20, top_p=0.9, rollout_cfg=0.0,
                              seed=5)
    ssr(backbone, tokenizer, labels, idx_list, patch_nums)  # advance the stream once
    state = ssr.state_dict()
    first, first_trace = traced(ssr, tiny_flexvar)
    # the teacher logits handed out are the ones the backbone produced (no in-place filtering)
    torch.testing.assert_close(first.logits.detach(), first_trace.calls[0].logits)
    first_idx = first_trace.selected_per_scale()

    resumed = StaggerScaleRollout(token_selection='sample', top_k=20, top_p=0.9,
                                  rollout_cfg=0.0, seed=123)
    resumed.load_state_dict(state)
    _, again = traced(resumed, tiny_flexvar)
    for a, b in zip(first_idx[-2:], again.selected_per_scale()[-2:]):
        assert torch.equal(a, b)
    # a different stream gives different tokens on the large scales
    _, other = traced(StaggerScaleRollout(token_selection='sample', top_k=20, top_p=0.9,
                                          rollout_cfg=0.0, seed=6), tiny_flexvar)
    assert not torch.equal(other.selected_per_scale()[-1], first_idx[-1])


def test_invalid_settings_raise(tiny_flexvar):
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    with pytest.raises(ValueError, match='sf_scope'):
        StaggerScaleRollout(sf_scope='first')
    with pytest.raises(ValueError, match='sf_context'):
        StaggerScaleRollout(sf_context='causal')
    with pytest.raises(ValueError, match='target'):
        StaggerScaleRollout(target='soft')
    with pytest.raises(ValueError, match='token selection'):
        StaggerScaleRollout(token_selection='beam')
    with pytest.raises(ValueError, match='at least 2 scales'):
        argmax_ssr()(backbone, tokenizer, labels, idx_list[:1], patch_nums[:1])
