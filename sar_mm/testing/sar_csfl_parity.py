"""Parity of one SAR (SSR + CSFL) training step with the official trainer.

Fixture ``sar_csfl_step`` (docs/method.md §7.21-7.24): the official
``VARTrainer.train_step_tf_then_single_sf_tf`` on ``flexvar_small`` weights and
the ``flexvae_small`` tokenizer, fixed schedule, arg-max rollout, eval mode
(no drop-path) and no label dropout. Here the same step runs through
``ScaleWiseAR.rollout_step`` (what ``ScaleWiseAR.loss`` runs) with
``StaggerScaleRollout(token_selection='argmax', rollout_cfg=0)`` and
``ContrastiveStudentForcingLoss``; the weights are loaded through the FlexVAR
converter rules. Every setting (schedule, sigma, label smoothing, inputs) is
read from the fixture. The rollout runs inside a :class:`RolloutTrace`, which
records the tokens it read off the teacher pass and the inputs its student pass
was given.
"""
import math
from pathlib import Path
from typing import List, Union

import torch

from sar_mm.models.converters.flexvar import FLEXVAR_RULES, convert_flexvar_checkpoints
from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.rollouts.base_rollout import teacher_forced_inputs
from sar_mm.models.utils.scale_layout import scale_slices
from sar_mm.registry import BACKBONES, TOKENIZERS
from sar_mm.utils.state_dict_conversion import convert_state_dict
from .parity import ParityRow, compare_close, compare_exact, load_reference, sidecar_tolerance
from .rollout_trace import RolloutTrace

__all__ = ['build_sar_step_model', 'check_sar_csfl_step']


def build_sar_step_model(reference_dir: Union[str, Path]) -> ScaleWiseAR:
    """``ScaleWiseAR`` with the fixture's weights and the fixture's step settings.

    Returns:
        ScaleWiseAR: in eval mode, label dropout off, SSR with arg-max rollout.
    """
    step, _ = load_reference(reference_dir, 'sar_csfl_step')
    var, _ = load_reference(reference_dir, 'flexvar_small')
    vae, _ = load_reference(reference_dir, 'flexvae_small')
    converted = convert_flexvar_checkpoints(var['state_dict'], vae['state_dict'])
    meta = converted['meta']
    backbone_cfg = dict(meta['backbone'], cond_drop_rate=0.0)
    model = ScaleWiseAR(
        tokenizer=TOKENIZERS.build(meta['tokenizer']),
        backbone=BACKBONES.build(backbone_cfg),
        rollout=dict(type='StaggerScaleRollout', sf_scope='last', sf_context='markov',
                     token_selection='argmax', rollout_cfg=0.0, target='teacher'),
        loss=dict(type='ContrastiveStudentForcingLoss', sigma=float(step['sigma']),
                  label_smoothing=float(step['label_smooth'])),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=list(step['patch_nums'])))
    model.load_state_dict(converted['state_dict'], strict=True)
    return model.eval()


def check_sar_csfl_step(reference_dir: Union[str, Path]) -> List[ParityRow]:
    """Run the SAR step and compare every stored quantity of ``sar_csfl_step``.

    Args:
        reference_dir: folder with ``sar_csfl_step``, ``flexvar_small`` and
            ``flexvae_small`` (``.pt`` + ``.json``).

    Returns:
        list[ParityRow]: tokens (exact), inputs, logits, per-token and total
        losses, the float64 gradient norm, per-parameter gradient norms and the
        full gradients of the small parameters.
    """
    ref, sidecar = load_reference(reference_dir, 'sar_csfl_step')
    tol_inputs = sidecar_tolerance(sidecar, 'latents')
    tol_logits = sidecar_tolerance(sidecar, 'logits')
    tol_loss = sidecar_tolerance(sidecar, 'scalar losses')
    tol_norm = sidecar_tolerance(sidecar, 'grad_norm')
    tol_grad = sidecar_tolerance(sidecar, 'per-parameter gradients')

    model = build_sar_step_model(reference_dir)
    patch_nums = list(ref['patch_nums'])
    labels = ref['label_B']
    trace = model.rollout = RolloutTrace(model.rollout)
    model.zero_grad(set_to_none=True)
    out = model.rollout_step(ref['img'], labels)
    losses = model.loss_module(out)
    total, _ = model.parse_losses(losses)
    total.backward()

    slices = scale_slices(out.patch_nums)
    gt_idx = [out.targets[:, sl] for sl in slices]
    with torch.no_grad():
        x_tf = teacher_forced_inputs(model.tokenizer, gt_idx, patch_nums)
        logits_tf, logits_sf = out.logits.detach(), out.student_logits.detach()
        lse_tf, lse_sf = logits_tf.logsumexp(-1), logits_sf.logsumexp(-1)
        at_gt = logits_tf.gather(-1, out.targets.unsqueeze(-1)).squeeze(-1)
        at_target = logits_sf.gather(-1, out.student_targets.unsqueeze(-1)).squeeze(-1)
        n_first = ref['logits_tf_slice_first_scales'].shape[1]
    student = trace.student_calls
    if len(student) != 1:
        raise RuntimeError(f'expected one Markov student pass, the step made {len(student)}')
    student = student[0]
    selected = student.scale_index - 1  # the scale whose teacher tokens feed the student
    teacher_idx = trace.selected_per_scale()
    rolled = [k for k, idx in enumerate(teacher_idx) if idx is not None]

    rows = [
        compare_exact('gt_idx_per_scale', gt_idx, ref['gt_idx_per_scale']),
        compare_close('tf_input_seq', x_tf, ref['tf_input_seq'], tol_inputs),
        compare_close('logits_tf_logsumexp', lse_tf, ref['logits_tf_logsumexp'], tol_logits),
        compare_close('logits_tf_at_gt', at_gt, ref['logits_tf_at_gt'], tol_logits),
        compare_close('logits_tf_slice_first_scales', logits_tf[:, :n_first],
                      ref['logits_tf_slice_first_scales'], tol_logits),
        compare_close('loss_tf_per_token', lse_tf - at_gt, ref['loss_tf_per_token'], tol_logits),
        compare_close('tf_loss', losses['loss_tf'], ref['tf_loss'], tol_loss),
        compare_exact('tf_argmax_idx_per_scale', [logits_tf[:, sl].argmax(-1) for sl in slices],
                      ref['tf_argmax_idx_per_scale']),
        compare_exact('rollout_idx_used_scales', [teacher_idx[k] for k in rolled],
                      [ref['tf_argmax_idx_per_scale'][k] for k in rolled]),
        compare_exact('sf_selected_scale_index', selected, ref['sf_selected_scale_index']),
        compare_exact('sf_patch_nums', torch.tensor([1, patch_nums[student.scale_index]]),
                      torch.tensor(list(ref['sf_patch_nums']))),
        compare_close('x_sf', student.inputs, ref['x_sf'], tol_inputs),
        compare_close('logits_sf_logsumexp', lse_sf, ref['logits_sf_logsumexp'], tol_logits),
        compare_close('logits_sf_at_target', at_target, ref['logits_sf_at_target'], tol_logits),
        compare_close('logits_sf_first_token', logits_sf[:, :1], ref['logits_sf_first_token'],
                      tol_logits),
        compare_exact('sf_target_idx', out.student_targets, ref['sf_target_idx']),
        compare_close('loss_sf_per_token', lse_sf - at_target, ref['loss_sf_per_token'],
                      tol_logits),
        compare_close('sf_loss', losses['ce_student'], ref['sf_loss'], tol_loss),
        compare_close('total_loss', total, ref['total_loss'], tol_loss),
    ]

    grads = {name: p.grad for name, p in model.backbone.named_parameters()}
    missing = [name for name, g in grads.items() if g is None]
    if missing:
        raise RuntimeError(f'parameters without gradient after the SAR step: {missing}')
    grad_norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads.values()))
    rows.append(compare_close('grad_norm (fp64)', torch.tensor(grad_norm), ref['grad_norm'],
                              tol_norm))

    def by_official_name(tensors: dict) -> dict:
        renamed = convert_state_dict(tensors, FLEXVAR_RULES)  # 'backbone.<name>' keys
        return {k[len('backbone.'):]: v for k, v in renamed.items()}

    ref_norms = by_official_name(ref['grad_norm_per_param'])
    if set(ref_norms) != set(grads):
        raise RuntimeError('parameter sets differ: fixture-only '
                           f'{sorted(set(ref_norms) - set(grads))}, sar_mm-only '
                           f'{sorted(set(grads) - set(ref_norms))}')
    names = sorted(ref_norms)
    rows.append(compare_close('grad_norm_per_param',
                              torch.stack([grads[n].double().norm() for n in names]),
                              torch.stack([ref_norms[n] for n in names]), tol_norm))
    for name, expected in sorted(by_official_name(ref['grads_small_params']).items()):
        rows.append(compare_close(f'grad {name}', grads[name], expected, tol_grad))
    return rows
