"""Interface of rollout strategies and the passes they share (docs/method.md §1.2).

A rollout strategy decides, for one training step, from which tokens the
backbone's next-scale inputs are built (ground truth, or the model's own
predictions) and how many forward passes are made. It receives the backbone
and the tokenizer as call arguments and owns no parameters, so it never
appears in a ``state_dict``, in DDP or in the optimizer. Its only state is the
RNG of its token selector (``state_dict()`` / ``load_state_dict()``).

Student inputs are always built by ``tokenizer.idx_to_next_inputs`` on a token
list in which the model's predictions replace ground-truth scales. Block ``k``
of that function depends only on scales ``< k``, so the list may hold anything
at scales ``>= k`` when block ``k`` is read. For FlexVAR block ``k`` is exactly
``bicubic(normalised code of scale k-1 -> pn_k)``; for VAR it is the residual
analogue: the area-resized cumulative ``f_hat`` of scales ``< k`` with the
predicted scales in it.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from ..utils.scale_layout import RolloutOutput, input_slice, scale_slices
from .token_selector import TokenSelector

__all__ = ['BaseRollout', 'teacher_forced_inputs', 'student_block_logits',
           'teacher_prefix_then_student_chain']


def teacher_forced_inputs(tokenizer: nn.Module, idx_list: Sequence[torch.Tensor],
                          patch_nums: Sequence[int]) -> torch.Tensor:
    """Next-scale inputs built from ``idx_list`` (no grad; the tokenizer is frozen).

    Autocast is switched off: like the official trainer, the frozen tokenizer
    always runs in float32, whatever precision the backbone uses.

    Args:
        idx_list: one (B, pn ** 2) int64 map per scale (the last may be omitted).

    Returns:
        Tensor: (B, L - 1, Cvae).
    """
    device_type = idx_list[0].device.type
    with torch.no_grad(), torch.autocast(device_type, enabled=False):
        return tokenizer.idx_to_next_inputs(list(idx_list[:len(patch_nums) - 1]), patch_nums)


def student_block_logits(backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                         token_list: Sequence[torch.Tensor], patch_nums: Sequence[int],
                         scale_index: int, context: str) -> torch.Tensor:
    """Logits of one scale predicted from the tokens in ``token_list``.

    Args:
        backbone: a ``BaseScaleTransformer``.
        tokenizer: a ``BaseMultiScaleTokenizer``.
        labels (Tensor): (B,) class ids.
        token_list: one (B, pn ** 2) map per scale; scales ``< scale_index`` are
            the context, the rest is ignored.
        patch_nums: the schedule of the step.
        scale_index (int): ``k >= 1``, the scale to predict.
        context (str): ``'markov'``: ``backbone.forward_student`` on
            ``[class token, block k]`` (the official SAR student pass,
            docs/method.md §2.4);
            ``'full'``: the ordinary block-causal forward over scales ``0..k``
            built from ``token_list`` (docs/method.md §1.2, §2.4; paper Fig. 3).

    Returns:
        Tensor: (B, pn_k ** 2, V).
    """
    if scale_index < 1:
        raise ValueError('scale 0 has no input block; predict it with a teacher-forced pass')
    x_BLCv = teacher_forced_inputs(tokenizer, token_list, patch_nums)  # (B, L-1, Cvae)
    blocks = scale_slices(patch_nums)
    if context == 'markov':
        x_block = x_BLCv[:, input_slice(blocks[scale_index])]  # (B, pn_k**2, Cvae)
        return backbone.forward_student(labels, x_block, patch_nums, scale_index)
    if context == 'full':
        prefix = list(patch_nums[:scale_index + 1])
        x_prefix = x_BLCv[:, input_slice(slice(0, blocks[scale_index].stop))]
        logits = backbone(labels, x_prefix, prefix)  # (B, L_prefix, V)
        return logits[:, blocks[scale_index]]
    raise ValueError(f"context must be 'markov' or 'full', got {context!r}")


def teacher_prefix_then_student_chain(
        backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
        idx_list: Sequence[torch.Tensor], patch_nums: Sequence[int], num_tf_scales: int,
        context: str, selector: TokenSelector) -> torch.Tensor:
    """Teacher-force the first scales, then chain student forcing to the last.

    One block-causal pass over ``patch_nums[:num_tf_scales]`` with ground-truth
    inputs; then, for every later scale ``k``, one student pass whose input is
    built from the model's own tokens at scale ``k - 1`` (the teacher pass's
    tokens for the first student scale, then the previous student pass's). In
    ``'full'`` context the earlier blocks keep their own inputs: ground truth
    for teacher-forced scales, predictions for student-forced ones.
    ``num_tf_scales=1`` is full student forcing (the first pass holds only the
    start token).

    Args:
        num_tf_scales (int): ``1 <= n <= len(patch_nums)``.
        context (str): ``'markov'`` or ``'full'``, see :func:`student_block_logits`.
        selector (TokenSelector): turns logits into the chained tokens.

    Returns:
        Tensor: logits (B, L, V) of every scale in schedule order, from
        ``1 + K - num_tf_scales`` forward passes.
    """
    K = len(patch_nums)
    if not 1 <= num_tf_scales <= K:
        raise ValueError(f'num_tf_scales must be in [1, {K}], got {num_tf_scales}')
    blocks = scale_slices(patch_nums)
    x_BLCv = teacher_forced_inputs(tokenizer, idx_list, patch_nums)  # (B, L-1, Cvae)
    x_prefix = x_BLCv[:, input_slice(slice(0, blocks[num_tf_scales - 1].stop))]
    logits_tf = backbone(labels, x_prefix, list(patch_nums[:num_tf_scales]))  # (B, L_tf, V)
    per_scale = [logits_tf[:, blocks[k]] for k in range(num_tf_scales)]
    tokens = list(idx_list)
    for k in range(num_tf_scales, K):
        tokens[k - 1] = selector(per_scale[k - 1].detach())
        per_scale.append(student_block_logits(backbone, tokenizer, labels, tokens, patch_nums,
                                              k, context))
    return torch.cat(per_scale, dim=1)


class BaseRollout:
    """A rollout strategy: ``__call__`` runs the passes of one training step.

    A strategy that reads tokens off its own logits sets ``selector`` to a
    :class:`TokenSelector`; the strategy's ``state_dict()`` is that
    selector's RNG state.
    """

    #: the student-pass attention regimes a strategy may accept
    CONTEXTS = ('markov', 'full')
    #: turns the strategy's own logits into tokens; ``None`` for strategies that read none
    selector: Optional[TokenSelector] = None

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        """Run the strategy.

        Args:
            backbone: a ``BaseScaleTransformer`` (in train or eval mode).
            tokenizer: a frozen ``BaseMultiScaleTokenizer``.
            labels (Tensor): (B,) int64 class ids.
            idx_list: ground-truth maps, one (B, pn ** 2) int64 tensor per scale.
            patch_nums: the schedule of this step.

        Returns:
            RolloutOutput: logits in the graph and their targets.
        """
        raise NotImplementedError

    def state_dict(self) -> Dict:
        """RNG state of the selector (empty for strategies without one)."""
        return {} if self.selector is None else self.selector.state_dict()

    def load_state_dict(self, state: Dict) -> None:
        if self.selector is not None:
            self.selector.load_state_dict(state)
        elif state:
            raise ValueError(f'{type(self).__name__} has no state, got keys {sorted(state)}')
