"""What a rollout did in one training step, recorded for tests and parity checks.

:class:`~sar_mm.models.utils.scale_layout.RolloutOutput` carries only what the
losses read. A test or a parity check that needs more (the backbone calls the
step made, with their inputs and logits, and the tokens the rollout read off
its own logits) wraps the rollout in :class:`RolloutTrace`, which runs it on a
recording backbone and a recording token selector. The training path never
records anything.
"""
from typing import Callable, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn

from sar_mm.models.rollouts import BaseRollout
from sar_mm.models.utils.scale_layout import RolloutOutput

__all__ = ['BackboneCall', 'RecordingBackbone', 'RecordingSelector', 'RolloutTrace']


class BackboneCall(NamedTuple):
    """One backbone call, detached copies of its tensors.

    Attributes:
        kind (str): ``'forward'`` (block-causal pass) or ``'student'``
            (``forward_student``).
        labels (Tensor): (B,).
        inputs (Tensor): (B, l, Cvae) the inputs it was given.
        patch_nums (list[int]): the schedule it was given.
        scale_index (int, optional): the predicted scale of a ``'student'`` call.
        logits (Tensor): (B, l', V) what it returned.
        grad_enabled (bool): whether autograd recorded the call.
    """

    kind: str
    labels: torch.Tensor
    inputs: torch.Tensor
    patch_nums: List[int]
    scale_index: Optional[int]
    logits: torch.Tensor
    grad_enabled: bool


class RecordingBackbone(nn.Module):
    """Forwards to a backbone and keeps a :class:`BackboneCall` of every call."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.inner = backbone
        self.num_classes = backbone.num_classes
        self.calls: List[BackboneCall] = []

    def forward(self, labels: torch.Tensor, x: torch.Tensor,
                patch_nums: Sequence[int]) -> torch.Tensor:
        logits = self.inner(labels, x, patch_nums)
        self.calls.append(BackboneCall('forward', labels.clone(), x.detach().clone(),
                                       list(patch_nums), None, logits.detach().clone(),
                                       torch.is_grad_enabled()))
        return logits

    def forward_student(self, labels: torch.Tensor, x: torch.Tensor, patch_nums: Sequence[int],
                        scale_index: int) -> torch.Tensor:
        logits = self.inner.forward_student(labels, x, patch_nums, scale_index)
        self.calls.append(BackboneCall('student', labels.clone(), x.detach().clone(),
                                       list(patch_nums), scale_index, logits.detach().clone(),
                                       torch.is_grad_enabled()))
        return logits


class RecordingSelector:
    """Forwards to a token selector and keeps every (B, l) selection it returns."""

    def __init__(self, selector: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.inner = selector
        self.selected: List[torch.Tensor] = []

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        tokens = self.inner(logits)
        self.selected.append(tokens.detach().clone())
        return tokens


class RolloutTrace:
    """A rollout that records its backbone calls and token selections.

    Called like the rollout it wraps (and usable as ``model.rollout``), it runs
    that rollout on a :class:`RecordingBackbone` and, while the call lasts,
    with its ``selector`` wrapped in a :class:`RecordingSelector`. Each call
    replaces the record of the previous one.

    Args:
        rollout (BaseRollout): the strategy to run.

    Attributes:
        calls (list[BackboneCall]): the backbone calls of the last step, in order.
        selected (list[Tensor]): the (B, pn ** 2) tokens the selector returned.
        patch_nums (list[int]): the schedule of the last step.
    """

    def __init__(self, rollout: BaseRollout) -> None:
        self.rollout = rollout
        self.calls: List[BackboneCall] = []
        self.selected: List[torch.Tensor] = []
        self.patch_nums: List[int] = []

    def __call__(self, backbone: nn.Module, tokenizer: nn.Module, labels: torch.Tensor,
                 idx_list: List[torch.Tensor], patch_nums: Sequence[int]) -> RolloutOutput:
        recorder = RecordingBackbone(backbone)
        selector = self.rollout.selector
        recording = RecordingSelector(selector) if selector is not None else None
        if recording is not None:
            self.rollout.selector = recording
        try:
            out = self.rollout(recorder, tokenizer, labels, idx_list, patch_nums)
        finally:
            if recording is not None:
                self.rollout.selector = selector
        self.calls = recorder.calls
        self.selected = recording.selected if recording is not None else []
        self.patch_nums = list(patch_nums)
        return out

    @property
    def num_forwards(self) -> int:
        """Backbone calls of the last step made with gradient."""
        return sum(call.grad_enabled for call in self.calls)

    @property
    def student_calls(self) -> List[BackboneCall]:
        """The ``forward_student`` calls of the last step, in order."""
        return [call for call in self.calls if call.kind == 'student']

    def selected_per_scale(self) -> List[Optional[torch.Tensor]]:
        """The tokens selected for each scale of the schedule, ``None`` where none were.

        Scales are told apart by their ``pn ** 2`` positions, all different in
        a strictly increasing schedule.

        Returns:
            list: one entry per scale, a (B, pn ** 2) int64 map or ``None``.
        """
        by_size = {}
        for tokens in self.selected:
            size = int(tokens.shape[1])
            if size in by_size:
                raise ValueError(f'the selector returned tokens of {size} positions twice; '
                                 'selected_per_scale needs one selection per scale')
            by_size[size] = tokens
        return [by_size.get(pn * pn) for pn in self.patch_nums]
