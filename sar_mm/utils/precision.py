"""Precision policy: the autocast dtype is chosen by the hardware, not hard-wired.

``resolve_precision(requested, device_type)`` turns a requested precision into
a :class:`Precision` (the dtype and why it was chosen):

- an explicit dtype (``'fp32'``, ``'bf16'``, ``'fp16'`` or their long names)
  is always honoured; ``'bf16'`` on a CPU without native bf16 matrix products
  logs one warning;
- ``'auto'`` on CUDA is fp16 (with loss scaling when training: the official
  VAR / FlexVAR / SAR recipe);
- ``'auto'`` on a CPU is bf16 only where bf16 matrix products are native
  (:func:`sar_mm.utils.cpu_bf16.cpu_bf16_decision`: AMX from the CPU flags,
  AVX512-BF16 measured against fp32 with a margin and cached per machine), and
  fp32 everywhere else. On an AVX2-only CPU a bf16 matmul runs hundreds of
  times slower than fp32 (oneDNN emulates it), so bf16 by default would turn a
  minutes-long CPU run into hours.

The CPU decision is made once per process. Tests inject their own through the
``cpu_decision`` argument.

:func:`allow_tf32` switches CUDA's TF32 matrix products and cuDNN convolutions on or
off for one block (the official ``eval_c2i.py`` of GengzeZhou/SAR samples with
both on) and restores the previous flags afterwards.
"""
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch
from mmengine.logging import print_log

from .cpu_bf16 import CpuBf16Decision, cpu_bf16_decision

__all__ = ['Precision', 'parse_precision', 'resolve_precision', 'log_precision_once', 'allow_tf32']

_NAMES = {
    'fp32': torch.float32, 'float32': torch.float32,
    'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
    'fp16': torch.float16, 'float16': torch.float16,
}


@dataclass(frozen=True)
class Precision:
    """The precision one device computes in.

    Attributes:
        device_type (str): ``'cpu'`` or ``'cuda'``.
        dtype (torch.dtype): ``torch.float32`` (no autocast), ``torch.bfloat16``
            or ``torch.float16`` (autocast to it).
        reason (str): why this dtype, for the start-up log.
    """
    device_type: str
    dtype: torch.dtype
    reason: str

    @property
    def name(self) -> str:
        """``'float32'``, ``'bfloat16'`` or ``'float16'``."""
        return str(self.dtype).rsplit('.', 1)[-1]

    @property
    def autocast_enabled(self) -> bool:
        return self.dtype != torch.float32

    def autocast(self) -> AbstractContextManager:
        """``torch.autocast`` to :attr:`dtype`, or autocast explicitly off for fp32."""
        if not self.autocast_enabled:
            return torch.autocast(self.device_type, enabled=False)
        return torch.autocast(self.device_type, dtype=self.dtype)

    def describe(self) -> str:
        return f'precision: {self.name} ({self.reason})'


def parse_precision(requested: Optional[str]) -> Optional[torch.dtype]:
    """``'auto'`` (or ``None``) -> ``None``; a dtype name -> the dtype.

    Raises:
        ValueError: on any other name.
    """
    if requested is None or requested == 'auto':
        return None
    if isinstance(requested, torch.dtype) and requested in _NAMES.values():
        return requested
    if requested not in _NAMES:
        raise ValueError(f"precision must be 'auto' or one of {sorted(_NAMES)}, got "
                         f'{requested!r}')
    return _NAMES[requested]


def resolve_precision(requested: Optional[str] = 'auto',
                      device_type: Optional[str] = None,
                      cpu_decision: Optional[Callable[[], CpuBf16Decision]] = None) -> Precision:
    """Choose the precision for ``device_type`` (see the module docstring).

    Args:
        requested (str, optional): ``'auto'`` (or ``None``), or a dtype name.
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; ``None`` picks CUDA
            when it is available.
        cpu_decision (callable, optional): returns whether this CPU's bf16 is
            native (:class:`~sar_mm.utils.cpu_bf16.CpuBf16Decision`); defaults to
            :func:`~sar_mm.utils.cpu_bf16.cpu_bf16_decision` (once per process).

    Returns:
        Precision: the dtype and the reason, e.g. ``precision: float32 (auto: CPU has
        no native bf16, no amx_bf16 or avx512_bf16 among the CPU flags)``.
    """
    if device_type is None:
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device_type not in ('cpu', 'cuda'):
        raise ValueError(f"device_type must be 'cpu' or 'cuda', got {device_type!r}")
    dtype = parse_precision(requested)
    decide = cpu_decision or cpu_bf16_decision
    if dtype is not None:
        reason = 'requested'
        if device_type == 'cpu' and dtype == torch.bfloat16:
            decision = decide()
            if not decision.native:
                _warn_once('bf16 was requested on a CPU without native bf16 matrix products '
                           f'({decision.reason}); expect a much slower run, or use \'auto\' / '
                           "'fp32'")
                reason = 'requested; no native bf16 on this CPU'
        return Precision(device_type, dtype, reason)
    if device_type == 'cuda':
        return Precision('cuda', torch.float16, 'auto on CUDA: fp16 autocast')
    decision = decide()
    if decision.native:
        return Precision('cpu', torch.bfloat16, f'auto: CPU runs bf16 natively, {decision.reason}')
    return Precision('cpu', torch.float32, f'auto: CPU has no native bf16, {decision.reason}')


_LOGGED = set()


def _warn_once(message: str) -> None:
    if message not in _LOGGED:
        _LOGGED.add(message)
        print_log(message, logger='current', level=30)  # logging.WARNING


def log_precision_once(precision: Precision) -> None:
    """Log ``precision: <dtype> (<reason>)`` once per process and choice."""
    message = precision.describe()
    if message not in _LOGGED:
        _LOGGED.add(message)
        print_log(message, logger='current')


@contextmanager
def allow_tf32(enabled: bool) -> Iterator[None]:
    """TF32 on (``enabled``) or off for CUDA float32 matmuls and cuDNN convolutions.

    Sets ``torch.backends.cuda.matmul.allow_tf32`` and
    ``torch.backends.cudnn.allow_tf32`` (process-wide flags) for the block and
    restores both on exit, also after an exception. The flags change nothing
    on a CPU; on CUDA (Ampere and newer) TF32 keeps 10 mantissa bits of the
    inputs of float32 products.
    """
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(enabled)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
