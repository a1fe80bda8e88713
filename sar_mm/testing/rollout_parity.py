"""Parity of SAR's guided rollout with the official trainer (fixture ``sar_guided_rollout``).

The step the official SAR scripts actually run (``csfl`` with the ``sf_*``
defaults that ``train.py`` leaves in place): the teacher pass's logits are
guided per scale, ``(1 + t_i) cond - t_i uncond`` with
``t_i = gamma / 2 (1 + i / (K - 1))``, tokens are drawn from them with top-k /
top-p, and the Markov student pass on the last transition is trained towards
the drawn tokens. The official draws come from the trainer's own unseeded
generator, so an implementation cannot draw them again: this check replays the
stored draws through :class:`~sar_mm.models.rollouts.StaggerScaleRollout`'s
token selection (the rollout's ``selector``) and compares the guided logits it
is fed on every scale, the guidance strengths, the losses given those draws
and the gradient norm.
"""
import math
from pathlib import Path
from typing import Dict, List, Sequence, Union

import torch

from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.rollouts.base_rollout import teacher_forced_inputs
from sar_mm.models.rollouts.rollout_guidance import SARRolloutGuidance
from .parity import ParityRow, compare_close, compare_exact, load_reference, parse_tolerance
from .sampling_parity import build_flexvar_pair

__all__ = ['ReplayedDraws', 'check_sar_guided_rollout']


class ReplayedDraws:
    """A rollout token selector that returns recorded draws and keeps the logits it is fed.

    Args:
        drawn_idx_per_scale: per scale (B, pn ** 2) int64; scales are told apart
            by their number of positions, so the schedule's sizes must differ.
    """

    def __init__(self, drawn_idx_per_scale: Sequence[torch.Tensor]) -> None:
        self.draws = {int(idx.shape[1]): idx for idx in drawn_idx_per_scale}
        if len(self.draws) != len(drawn_idx_per_scale):
            raise ValueError('replaying draws needs scales of different sizes')
        self.fed: Dict[int, torch.Tensor] = {}

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, l, V) guided logits -> the recorded (B, l) tokens of that scale."""
        self.fed[int(logits.shape[1])] = logits.detach().clone()
        return self.draws[int(logits.shape[1])].to(logits.device)


def _sar_model(data: dict) -> ScaleWiseAR:
    backbone, tokenizer = build_flexvar_pair(data['flexvar_state_dict'],
                                             data['flexvae_state_dict'])
    backbone.cond_drop_rate = 0.0  # as the official step of the fixture
    model = ScaleWiseAR(
        tokenizer=tokenizer, backbone=backbone,
        rollout=dict(type='StaggerScaleRollout', sf_scope='last', sf_context='markov',
                     token_selection='sample', top_k=int(data['top_k']),
                     top_p=float(data['top_p']), rollout_cfg=float(data['rollout_cfg']),
                     target='teacher'),
        loss=dict(type='ContrastiveStudentForcingLoss', sigma=float(data['sigma']),
                  label_smoothing=0.0),
        scale_schedule=dict(type='FixedScaleSchedule', patch_nums=list(data['patch_nums'])))
    return model.eval()


def check_sar_guided_rollout(pt_path: Union[str, Path]) -> List[ParityRow]:
    """Replay the official draws through sar_mm's SAR step and compare.

    Returns:
        list[ParityRow]: ``guidance_t_per_scale``, ``guided_logits_per_scale``
        (every scale), ``student targets = drawn tokens`` (exact),
        ``tf_loss``, ``sf_loss``, ``total_loss`` and ``grad_norm (fp64)``.
    """
    pt_path = Path(pt_path)
    data, sidecar = load_reference(pt_path.parent, pt_path.stem)
    if sidecar.get('fixture') != 'sar_guided_rollout':
        raise ValueError(f'{pt_path} is a {sidecar.get("fixture")!r} fixture, not '
                         "'sar_guided_rollout'")
    tol = {key: parse_tolerance(text) for key, text in sidecar['tolerances'].items()}
    model = _sar_model(data)
    patch_nums, labels, drawn = list(data['patch_nums']), data['label_B'], data['drawn_idx_per_scale']
    K = len(patch_nums)
    guidance = SARRolloutGuidance(float(data['rollout_cfg']))
    strengths = [guidance.strength(si, patch_nums) for si in range(K)]

    # the guided logits of every scale (the step itself only guides the scales it reads)
    replay = ReplayedDraws(drawn)
    model.rollout.selector = replay
    with torch.no_grad():
        idx_list = model.tokenizer.img_to_idx(data['img'], patch_nums)  # K x (B, pn ** 2)
        x_tf = teacher_forced_inputs(model.tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
        logits_tf = model.backbone(labels, x_tf, patch_nums)  # (B, L, V)
        model.rollout.rollout_tokens(model.backbone, labels, x_tf, logits_tf, patch_nums)
    rows = [
        compare_close('guidance_t_per_scale', torch.tensor(strengths, dtype=torch.float64),
                      data['guidance_t_per_scale'], parse_tolerance('rtol 1e-12')),
        compare_close('guided_logits_per_scale', [replay.fed[pn * pn] for pn in patch_nums],
                      data['guided_logits_per_scale'], tol['guided_logits']),
    ]

    # the SAR step on the official draws
    model.rollout.selector = ReplayedDraws(drawn)
    model.zero_grad(set_to_none=True)
    out = model.rollout_step(data['img'], labels)
    losses = model.loss_module(out)
    total, _ = model.parse_losses(losses)
    total.backward()
    grad_norm = math.sqrt(sum(float(p.grad.double().pow(2).sum())
                              for p in model.backbone.parameters() if p.grad is not None))
    rows += [
        compare_exact('student targets = drawn tokens of the last scale', out.student_targets,
                      drawn[K - 1]),
        compare_close('tf_loss', losses['loss_tf'], data['tf_loss'], tol['losses']),
        compare_close('sf_loss', losses['ce_student'], data['sf_loss'], tol['losses']),
        compare_close('total_loss', total, data['total_loss'], tol['losses']),
        compare_close('grad_norm (fp64)', torch.tensor(grad_norm), data['grad_norm'],
                      tol['grad_norm']),
    ]
    return rows
