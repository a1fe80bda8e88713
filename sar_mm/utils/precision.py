"""Precision policy: the autocast dtype is chosen by the hardware, not hard-wired.

``resolve_precision(requested, device_type)`` turns a requested precision into
a :class:`Precision` (the dtype and why it was chosen):

- an explicit dtype (``'fp32'``, ``'bf16'``, ``'fp16'`` or their long names)
  is always honoured; ``'bf16'`` on a CPU that runs bf16 matrix products
  slower than fp32 logs one warning with the measured slowdown;
- ``'auto'`` on CUDA is fp16 (with loss scaling when training: the official
  VAR / FlexVAR / SAR recipe);
- ``'auto'`` on a CPU is bf16 only where a bf16 matmul measured at least
  :data:`BF16_MIN_SPEEDUP` times faster than an fp32 one (AMX, AVX512-BF16),
  and fp32 everywhere else. On an AVX2-only CPU a bf16 matmul runs hundreds
  of times slower than fp32 (oneDNN emulates it), so bf16 by default would turn
  a minutes-long CPU run into hours.

The CPU measurement (:func:`measure_cpu_matmul`, about 20 ms when bf16 is fast,
at most about 0.3 s when it is not) runs once per process. Tests inject their
own probe through the ``probe`` argument.

:func:`allow_tf32` switches CUDA's TF32 matrix products and cuDNN convolutions on or
off for one block (the official ``eval_c2i.py`` of GengzeZhou/SAR samples with
both on) and restores the previous flags afterwards.
"""
import functools
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch
from mmengine.logging import print_log

__all__ = [
    'BF16_MIN_SPEEDUP', 'MatmulProbe', 'Precision', 'measure_cpu_matmul', 'cpu_matmul_probe',
    'parse_precision', 'resolve_precision', 'log_precision_once', 'allow_tf32'
]

# bf16 must beat fp32 by this factor before ``auto`` gives up fp32's accuracy for it.
BF16_MIN_SPEEDUP = 1.2

_NAMES = {
    'fp32': torch.float32, 'float32': torch.float32,
    'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16,
    'fp16': torch.float16, 'float16': torch.float16,
}


@dataclass(frozen=True)
class MatmulProbe:
    """Dense matmul throughput of one device in fp32 and bf16 (GFLOP/s)."""
    fp32_gflops: float
    bf16_gflops: float

    @property
    def bf16_speedup(self) -> float:
        """bf16 throughput over fp32 throughput (below 1: bf16 is slower)."""
        return self.bf16_gflops / self.fp32_gflops


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


def _gflops(dtype: torch.dtype, size: int, repeats: int, slow_after_s: float) -> float:
    """Best-of-``repeats`` throughput of a ``size``² matmul; stops early when slow."""
    generator = torch.Generator().manual_seed(0)  # the run's global RNG stays untouched
    a = torch.randn(size, size, generator=generator).to(dtype)
    b = torch.randn(size, size, generator=generator).to(dtype)
    flops = 2.0 * size**3
    a @ b  # warm-up: kernel selection, first-touch allocation
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
        if best > slow_after_s:  # already far too slow: more repeats would change nothing
            break
    return flops / best / 1e9


def measure_cpu_matmul(size: int = 512, repeats: int = 3) -> MatmulProbe:
    """Measure this CPU's dense fp32 and bf16 matmul throughput with torch's kernels.

    A bf16 matmul that is emulated (AVX2-only CPUs, or ``ATEN_CPU_CAPABILITY=avx2
    ONEDNN_MAX_CPU_ISA=AVX2`` on a newer one) takes a few hundred ms at this
    size and is timed once; a native one takes about 1 ms.
    """
    with torch.autocast('cpu', enabled=False), torch.no_grad():
        fp32 = _gflops(torch.float32, size, repeats, slow_after_s=float('inf'))
        bf16 = _gflops(torch.bfloat16, size, repeats, slow_after_s=0.05)
    return MatmulProbe(fp32_gflops=fp32, bf16_gflops=bf16)


@functools.lru_cache(maxsize=1)
def cpu_matmul_probe() -> MatmulProbe:
    """:func:`measure_cpu_matmul`, measured once per process."""
    return measure_cpu_matmul()


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


def _probe_text(probe: MatmulProbe) -> str:
    return (f'bf16 matmul {probe.bf16_gflops:.1f} GFLOP/s vs fp32 {probe.fp32_gflops:.1f} '
            f'GFLOP/s')


def resolve_precision(requested: Optional[str] = 'auto',
                      device_type: Optional[str] = None,
                      probe: Optional[Callable[[], MatmulProbe]] = None) -> Precision:
    """Choose the precision for ``device_type`` (see the module docstring).

    Args:
        requested (str, optional): ``'auto'`` (or ``None``), or a dtype name.
        device_type (str, optional): ``'cpu'`` or ``'cuda'``; ``None`` picks CUDA
            when it is available.
        probe (callable, optional): returns the CPU's :class:`MatmulProbe`;
            defaults to :func:`cpu_matmul_probe` (measured once per process).

    Returns:
        Precision: the dtype and the reason, e.g. ``precision: float32 (CPU has
        no native bf16: bf16 matmul 1.1 GFLOP/s vs fp32 132.4 GFLOP/s)``.
    """
    if device_type is None:
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device_type not in ('cpu', 'cuda'):
        raise ValueError(f"device_type must be 'cpu' or 'cuda', got {device_type!r}")
    dtype = parse_precision(requested)
    probe = probe or cpu_matmul_probe
    if dtype is not None:
        reason = 'requested'
        if device_type == 'cpu' and dtype == torch.bfloat16:
            measured = probe()
            if measured.bf16_speedup < 1.0:
                _warn_once(f'bf16 was requested on a CPU without native bf16 matrix products: '
                           f'a bf16 matmul measured {1 / measured.bf16_speedup:.0f}x slower '
                           f'than fp32 here ({_probe_text(measured)}); expect a much slower '
                           f"run, or use 'auto' / 'fp32'")
                reason = f'requested; {1 / measured.bf16_speedup:.0f}x slower than fp32 here'
        return Precision(device_type, dtype, reason)
    if device_type == 'cuda':
        return Precision('cuda', torch.float16, 'auto on CUDA: fp16 autocast')
    measured = probe()
    if measured.bf16_speedup >= BF16_MIN_SPEEDUP:
        return Precision('cpu', torch.bfloat16,
                         f'auto: CPU runs bf16 natively, {_probe_text(measured)}')
    return Precision('cpu', torch.float32,
                     f'auto: CPU has no native bf16, {_probe_text(measured)}')


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
