"""Mixed-precision optimizer wrapper that skips non-finite updates and also runs on CPU
(docs/method.md §6.1, §7.33).

What it adds to MMEngine 0.10.7's ``AmpOptimWrapper``, which refuses to start
without an accelerator and applies non-finite updates: updates are skipped as by
:class:`~sar_mm.engine.optim_wrappers.SkipNonFiniteOptimWrapper` (a non-finite
loss, or, without loss scaling, a non-finite gradient, on any rank: all ranks
skip together), the dynamic loss scale
can be capped, and ``dtype`` follows sar_mm's precision policy
(:func:`sar_mm.utils.precision.resolve_precision`), on CUDA and on CPUs.
Configs select it with ``type='SkipNonFiniteAmpOptimWrapper'``, as does
``tools/train.py --amp``; ``type='AmpOptimWrapper'`` stays MMEngine's wrapper.
The default ``dtype='auto'`` autocasts to

- ``float16`` on CUDA with a ``GradScaler`` (the official SAR recipe: initial
  scale 2**11, growth interval 1000, scale capped at 32768, clipping after
  unscaling);
- ``bfloat16`` on a CPU that runs bf16 matrix products natively (AMX,
  AVX512-BF16), which needs no loss scaling;
- nothing (plain float32) on any other CPU, where bf16 is emulated and runs
  orders of magnitude slower.

The choice is logged once at start-up (``precision: float32 (...)``).
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
import torch.nn as nn
from torch.optim import Optimizer

from sar_mm.registry import OPTIM_WRAPPERS
from sar_mm.utils.precision import log_precision_once, resolve_precision
from .skip_nonfinite_optim_wrapper import SkipNonFiniteOptimWrapper

__all__ = ['SkipNonFiniteAmpOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class SkipNonFiniteAmpOptimWrapper(SkipNonFiniteOptimWrapper):
    """Autocast + (for float16) dynamic loss scaling with an optional cap.

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        dtype (str, optional): ``'auto'`` (default; ``None`` means the same),
            or an explicit ``'float16'``, ``'bfloat16'`` or ``'float32'`` (short
            names ``fp16``, ``bf16``, ``fp32`` too), which always wins.
        loss_scale (str | float | dict): only used with ``float16``.
            ``'dynamic'``: ``GradScaler()`` defaults; a float: a static scale;
            a dict: ``GradScaler`` keyword arguments, e.g.
            ``dict(init_scale=2.0**11, growth_interval=1000)``.
        max_loss_scale (float, optional): cap on the dynamic scale. As in the
            official ``AmpOptimizer``, a scale above the cap after a step is set
            back to the cap instead of being updated.
        device_type (str, optional): autocast device, ``'cuda'`` or ``'cpu'``;
            ``None`` picks CUDA when available.
        accumulative_counts (int): gradient accumulation steps.
        clip_grad (dict, optional): as for MMEngine's ``OptimWrapper``; applied to the
            unscaled gradients.
    """

    def __init__(self,
                 optimizer: Optimizer,
                 dtype: Optional[str] = 'auto',
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 max_loss_scale: Optional[float] = None,
                 device_type: Optional[str] = None,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None) -> None:
        super().__init__(optimizer, accumulative_counts=accumulative_counts, clip_grad=clip_grad)
        if device_type is None:
            device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.precision = resolve_precision(dtype, device_type)
        log_precision_once(self.precision)
        self.device_type = self.precision.device_type
        self.cast_dtype = self.precision.dtype

        use_scaler = self.cast_dtype == torch.float16
        self._static_scale: Optional[float] = None
        if loss_scale == 'dynamic':
            scaler_args: dict = {}
        elif isinstance(loss_scale, (int, float)):
            self._static_scale = float(loss_scale)
            scaler_args = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            scaler_args = dict(loss_scale)
        else:
            raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got {loss_scale!r}")
        if max_loss_scale is not None and max_loss_scale <= 0:
            raise ValueError(f'max_loss_scale must be positive, got {max_loss_scale}')
        self.max_loss_scale = max_loss_scale
        self.loss_scaler = torch.amp.GradScaler(device_type, enabled=use_scaler, **scaler_args)

    def _checks_grads(self) -> bool:
        """With loss scaling, the ``GradScaler`` handles non-finite gradients."""
        return not self.loss_scaler.is_enabled()

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Backward of the scaled loss; ``kwargs`` go to ``Tensor.backward``."""
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Unscale and clip (if configured), step, then update the loss scale.

        ``kwargs`` go to ``Optimizer.step``.
        """
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        if self._static_scale is not None:
            self.loss_scaler.update(self._static_scale)
        elif self.max_loss_scale is not None and self.loss_scaler.get_scale() > self.max_loss_scale:
            self.loss_scaler.update(self.max_loss_scale)
        else:
            self.loss_scaler.update()

    def state_dict(self) -> dict:
        """Optimizer state plus ``loss_scaler`` (only when loss scaling is on)."""
        state_dict = super().state_dict()
        if self.loss_scaler.is_enabled():
            state_dict['loss_scaler'] = self.loss_scaler.state_dict()
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state and, when both sides scale, the scaler state."""
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state and self.loss_scaler.is_enabled():
            self.loss_scaler.load_state_dict(scaler_state)
        if 'base_param_settings' in state_dict:
            self.base_param_settings = state_dict.pop('base_param_settings')
        self.optimizer.load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of ``SkipNonFiniteOptimWrapper`` plus autocast."""
        with super().optim_context(model), self.precision.autocast():
            yield
