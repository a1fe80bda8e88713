"""Token cross-entropy over all scales of a schedule (docs/method.md §4.3-4.4).

The official FlexVAR/VAR loss: per-token cross-entropy, weighted uniformly by
``1 / L`` (``L = sum(pn ** 2)``), summed over the sequence, averaged over the
batch. Optional per-scale weights re-weight tokens by the side length of the
scale they belong to and are normalised so that the weights of one sequence
sum to one (uniform weights give back the official loss).
"""
from typing import Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from sar_mm.registry import LOSSES
from ..utils.scale_layout import RolloutOutput, num_tokens, scale_slices

__all__ = ['ScaleCrossEntropyLoss', 'token_cross_entropy', 'scale_token_weights',
           'weighted_token_mean', 'token_accuracy', 'per_scale_accuracy']


def token_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                        label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-token cross-entropy.

    Args:
        logits (Tensor): (B, L, V).
        targets (Tensor): (B, L) int64.
        label_smoothing (float): as in ``F.cross_entropy``.

    Returns:
        Tensor: (B, L) float32.
    """
    B, L, V = logits.shape
    ce = F.cross_entropy(logits.reshape(B * L, V).float(), targets.reshape(B * L),
                         label_smoothing=label_smoothing, reduction='none')
    return ce.view(B, L)  # (B*L,) -> (B, L)


def scale_token_weights(patch_nums: Sequence[int],
                        scale_weights: Optional[Mapping[int, float]] = None,
                        device: Optional[torch.device] = None) -> torch.Tensor:
    """Per-token weights of one sequence, summing to one.

    Args:
        patch_nums: the schedule; scale ``pn`` owns ``pn ** 2`` tokens.
        scale_weights: weight per scale side length; absent scales weigh 1.
            ``None`` gives the uniform ``1 / L`` of docs/method.md §4.4.

    Returns:
        Tensor: (L,) float32.
    """
    L = num_tokens(patch_nums)
    if scale_weights is None:
        return torch.full((L,), 1.0 / L, device=device)
    w = torch.cat([torch.full((pn * pn,), float(scale_weights.get(pn, 1.0)), device=device)
                   for pn in patch_nums])
    if not torch.all(w >= 0) or float(w.sum()) <= 0:
        raise ValueError(f'scale weights must be >= 0 and not all zero, got {dict(scale_weights)}')
    return w / w.sum()


def weighted_token_mean(per_token: torch.Tensor, token_weights: torch.Tensor) -> torch.Tensor:
    """``mean_B sum_L w_l * x_bl`` (the official reduction order).

    Args:
        per_token (Tensor): (B, L).
        token_weights (Tensor): (L,) summing to one.

    Returns:
        Tensor: scalar.
    """
    return per_token.mul(token_weights.unsqueeze(0)).sum(dim=-1).mean()


@torch.no_grad()
def token_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of tokens whose argmax equals the target, in percent.

    Args:
        logits (Tensor): (B, L, V).
        targets (Tensor): (B, L).

    Returns:
        Tensor: scalar float32 in [0, 100].
    """
    return (logits.argmax(dim=-1) == targets).float().mean() * 100


@torch.no_grad()
def per_scale_accuracy(logits: torch.Tensor, targets: torch.Tensor,
                       patch_nums: Sequence[int]) -> List[torch.Tensor]:
    """:func:`token_accuracy` of every scale of the schedule, in percent."""
    return [token_accuracy(logits[:, sl], targets[:, sl]) for sl in scale_slices(patch_nums)]


@LOSSES.register_module()
class ScaleCrossEntropyLoss(nn.Module):
    """Cross-entropy over every token of the schedule (TF and the SF family).

    Returns ``loss_ce`` (the only summed term), ``acc`` and, with
    ``log_scale_acc``, ``acc_scale{pn}`` for every scale of the step.

    Args:
        label_smoothing (float): 0 in every official recipe.
        scale_weights (dict[int, float], optional): weight per scale side
            length; ``None`` (default) is the official uniform per-token mean.
        loss_weight (float): multiplies ``loss_ce``.
        log_scale_acc (bool): also report per-scale accuracies.
    """

    def __init__(self, label_smoothing: float = 0.0,
                 scale_weights: Optional[Dict[int, float]] = None,
                 loss_weight: float = 1.0, log_scale_acc: bool = True) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing
        self.scale_weights = None if scale_weights is None else {
            int(k): float(v) for k, v in scale_weights.items()}
        self.loss_weight = loss_weight
        self.log_scale_acc = log_scale_acc

    def forward(self, output: RolloutOutput) -> Dict[str, torch.Tensor]:
        """Loss dict of one step.

        Args:
            output (RolloutOutput): uses ``logits`` (B, L, V) and ``targets`` (B, L).
        """
        ce = token_cross_entropy(output.logits, output.targets, self.label_smoothing)
        weights = scale_token_weights(output.patch_nums, self.scale_weights, ce.device)
        losses = dict(loss_ce=self.loss_weight * weighted_token_mean(ce, weights),
                      acc=token_accuracy(output.logits, output.targets))
        if self.log_scale_acc:
            accs = per_scale_accuracy(output.logits, output.targets, output.patch_nums)
            for pn, acc in zip(output.patch_nums, accs):
                losses[f'acc_scale{pn}'] = acc
        return losses
