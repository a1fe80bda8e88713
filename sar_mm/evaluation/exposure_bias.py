"""Exposure bias, measured: teacher-forced versus rolled-out inputs, per scale.

Exposure bias (docs/method.md §1.1): training feeds scale ``k`` inputs built from the
ground-truth tokens of scale ``k - 1`` (teacher forcing), sampling feeds it the
model's own tokens. For a set of real images this module runs both regimes on
the same images and labels and reports, for every scale, the cross-entropy and
token accuracy against the ground-truth tokens:

* ``teacher_forced``: one block-causal pass with ground-truth inputs (the
  training pass of ``TeacherForcing``);
* ``rolled_out``, ``mode='chain'``: the inference regime without guidance.
  Scale 1 comes from the start token; every later scale from the arg-max
  tokens the model predicted at the previous scale, with block-causal
  attention over its own earlier predictions (``teacher_prefix_then_student_chain``
  with one teacher-forced scale and ``'full'`` context);
* ``rolled_out``, ``mode='one_step'``: one pass over the scale-shifted
  sequence built from the arg-max tokens of the teacher-forced pass (SSR's
  student inputs over every scale, paper Fig. 3): the cost of a single step of
  the model's own errors.

The gap ``teacher-forced accuracy - rolled-out accuracy`` of a scale is how
much the model loses when it has to continue from its own predictions. Scale 1
has no input block, so both regimes agree there. In ``'chain'`` mode a
different coarse prediction is also a different (not necessarily wrong)
image, so the rolled-out numbers mix exposure bias with sample diversity;
``'one_step'`` isolates the former.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sar_mm.models.losses import token_cross_entropy
from sar_mm.models.rollouts.base_rollout import (teacher_forced_inputs,
                                                 teacher_prefix_then_student_chain)
from sar_mm.models.rollouts.token_selector import TokenSelector
from sar_mm.models.utils.scale_layout import scale_slices

__all__ = ['EXPOSURE_BIAS_MODES', 'measure_exposure_bias', 'format_exposure_bias_table',
           'plot_exposure_bias']

EXPOSURE_BIAS_MODES = ('chain', 'one_step')


def _per_scale_sums(logits: torch.Tensor, targets: torch.Tensor,
                    patch_nums: Sequence[int]) -> torch.Tensor:
    """(K, 2) summed cross-entropy and correct-token count of every scale."""
    ce = token_cross_entropy(logits, targets)  # (B, L)
    correct = (logits.argmax(dim=-1) == targets).float()  # (B, L)
    return torch.stack([torch.stack([ce[:, sl].sum(), correct[:, sl].sum()])
                        for sl in scale_slices(patch_nums)])  # (K, 2)


@torch.no_grad()
def measure_exposure_bias(generator: nn.Module,
                          images: torch.Tensor,
                          labels: torch.Tensor,
                          patch_nums: Optional[Sequence[int]] = None,
                          mode: str = 'chain',
                          batch_size: int = 64) -> Dict:
    """Per-scale loss and token accuracy, teacher-forced versus rolled out.

    The backbone runs in eval mode (no label dropout, no drop-path) and in
    float32; its mode is restored afterwards. Deterministic (arg-max tokens).

    Args:
        generator: a ``ScaleWiseAR`` (uses ``tokenizer``, ``backbone`` and
            ``sampling.patch_nums``).
        images (Tensor): (N, 3, H, W) float in [-1, 1].
        labels (Tensor): (N,) int64 class ids.
        patch_nums: the schedule; default the generator's ``sampling.patch_nums``.
        mode (str): ``'chain'`` or ``'one_step'`` (see the module docstring).
        batch_size (int): images per forward.

    Returns:
        dict: ``patch_nums`` (list), ``mode``, ``num_images``, and lists with one
        float per scale: ``tf_loss``, ``tf_acc``, ``rollout_loss``,
        ``rollout_acc`` (accuracies in percent, losses in nats per token) and
        ``acc_gap`` (``tf_acc - rollout_acc``).
    """
    if mode not in EXPOSURE_BIAS_MODES:
        raise ValueError(f'mode must be one of {EXPOSURE_BIAS_MODES}, got {mode!r}')
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError(f'need as many labels as images (and at least one), got '
                         f'{images.shape[0]} images and {labels.shape[0]} labels')
    patch_nums = [int(pn) for pn in (patch_nums or generator.sampling.patch_nums)]
    tokenizer, backbone = generator.tokenizer, generator.backbone
    device = next(backbone.parameters()).device
    selector = TokenSelector('argmax')
    sums_tf = torch.zeros(len(patch_nums), 2, dtype=torch.float64)
    sums_ro = torch.zeros(len(patch_nums), 2, dtype=torch.float64)
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.autocast(device.type, enabled=False):
            for start in range(0, images.shape[0], batch_size):
                x = images[start:start + batch_size].to(device).float()
                y = labels[start:start + batch_size].to(device).long()
                idx_list = tokenizer.img_to_idx(x, patch_nums)  # K x (B, pn*pn)
                targets = torch.cat(idx_list, dim=1)  # (B, L)
                logits_tf = backbone(y, teacher_forced_inputs(tokenizer, idx_list, patch_nums),
                                     patch_nums)  # (B, L, V)
                if mode == 'chain':
                    logits_ro = teacher_prefix_then_student_chain(
                        backbone, tokenizer, y, idx_list, patch_nums, num_tf_scales=1,
                        context='full', selector=selector)  # (B, L, V)
                else:
                    blocks = scale_slices(patch_nums)
                    own = [selector(logits_tf[:, sl]) for sl in blocks]  # K x (B, pn*pn)
                    logits_ro = backbone(y, teacher_forced_inputs(tokenizer, own, patch_nums),
                                         patch_nums)  # (B, L, V)
                sums_tf += _per_scale_sums(logits_tf, targets, patch_nums).double().cpu()
                sums_ro += _per_scale_sums(logits_ro, targets, patch_nums).double().cpu()
    finally:
        backbone.train(was_training)
    tokens = torch.tensor([images.shape[0] * pn * pn for pn in patch_nums], dtype=torch.float64)
    tf_acc = (100 * sums_tf[:, 1] / tokens).tolist()
    ro_acc = (100 * sums_ro[:, 1] / tokens).tolist()
    return dict(
        patch_nums=patch_nums, mode=mode, num_images=int(images.shape[0]),
        tf_loss=(sums_tf[:, 0] / tokens).tolist(), tf_acc=tf_acc,
        rollout_loss=(sums_ro[:, 0] / tokens).tolist(), rollout_acc=ro_acc,
        acc_gap=[a - b for a, b in zip(tf_acc, ro_acc)])


def format_exposure_bias_table(result: Dict) -> str:
    """Markdown table of one :func:`measure_exposure_bias` result, one row per scale."""
    lines = [f'Exposure bias ({result["mode"]}, {result["num_images"]} images)', '',
             '| scale | TF loss | rolled-out loss | TF acc (%) | rolled-out acc (%) | gap (pp) |',
             '|---|---|---|---|---|---|']
    for k, pn in enumerate(result['patch_nums']):
        lines.append(f'| {pn} | {result["tf_loss"][k]:.3f} | {result["rollout_loss"][k]:.3f} '
                     f'| {result["tf_acc"][k]:.2f} | {result["rollout_acc"][k]:.2f} '
                     f'| {result["acc_gap"][k]:.2f} |')
    return '\n'.join(lines)


def plot_exposure_bias(results: Dict[str, Dict], out_path: str) -> str:
    """Plot per-scale token accuracy (solid: teacher-forced, dashed: rolled out).

    Args:
        results: run name -> :func:`measure_exposure_bias` result.
        out_path: PNG path.

    Returns:
        str: ``out_path``.
    """
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, result) in enumerate(results.items()):
        colour = f'C{i}'
        scales: List[int] = result['patch_nums']
        ax.plot(scales, result['tf_acc'], '-o', color=colour, label=f'{name} teacher-forced')
        ax.plot(scales, result['rollout_acc'], '--s', color=colour,
                label=f'{name} rolled out ({result["mode"]})')
    ax.set_xlabel('scale (side length)')
    ax.set_ylabel('token accuracy vs ground truth (%)')
    ax.set_title('Exposure bias per scale')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_path)
    return out_path
