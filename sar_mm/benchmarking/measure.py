"""Timing, peak-memory and matmul-peak helpers of the benchmarks.

Benchmarks are scripts, never timed unit tests: the tests of this module check
the bookkeeping (statistics, memory readings, well-formed results), not speed.
"""
import functools
import resource
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

__all__ = ['TimingStats', 'summarize_times', 'time_calls', 'time_interleaved', 'PeakMemory',
           'matmul_flops_per_s', 'synchronize']

_CLEAR_REFS = Path('/proc/self/clear_refs')
_STATUS = Path('/proc/self/status')


@dataclass
class TimingStats:
    """Wall-clock seconds of the timed iterations of one phase.

    Attributes:
        samples (list[float]): one entry per timed iteration.
        median (float), min (float), max (float): over ``samples``.
        spread (float): ``(max - min) / median``, the relative range.
    """

    samples: List[float]
    median: float
    min: float
    max: float
    spread: float

    def to_dict(self) -> Dict:
        return asdict(self)


def summarize_times(samples: List[float]) -> TimingStats:
    """Median, range and relative spread of a non-empty list of durations."""
    if not samples:
        raise ValueError('no timed iterations')
    med = statistics.median(samples)
    lo, hi = min(samples), max(samples)
    return TimingStats(samples=[float(s) for s in samples], median=float(med), min=float(lo),
                       max=float(hi), spread=float((hi - lo) / med) if med > 0 else 0.0)


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels on ``device`` (no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], iters: int, warmup: int,
               device: torch.device) -> TimingStats:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times timed.

    Each timed call is bracketed by device synchronisation, so GPU work queued
    by the call is inside its own interval.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f'need iters >= 1 and warmup >= 0, got {iters}, {warmup}')
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        samples.append(time.perf_counter() - start)
    return summarize_times(samples)


def time_interleaved(fns: Dict[str, Callable[[], object]], iters: int,
                     device: torch.device) -> Dict[str, List[float]]:
    """Time several calls in rounds: ``fns`` in order, ``iters`` rounds.

    A slow drift of the machine's speed (other jobs, clocks) then touches every
    call of a round alike, so ratios of calls of the same round stay
    meaningful. Each call is bracketed by device synchronisation. Warm-up is
    the caller's.

    Returns:
        dict: name -> one duration (s) per round.
    """
    if iters < 1:
        raise ValueError(f'need iters >= 1, got {iters}')
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(iters):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            samples[name].append(time.perf_counter() - start)
    return samples


def _read_vm_hwm() -> Optional[int]:
    """Peak resident set size of this process in bytes (``VmHWM``), if readable."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024  # reported in kB
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak memory of a block of code.

    On CUDA: ``torch.cuda.max_memory_allocated`` after a reset of the peak
    statistics. On the CPU: the peak resident set size of the process
    (``VmHWM``), reset on entry through ``/proc/self/clear_refs`` where the
    kernel allows it; where it does not, the process-lifetime peak
    (``ru_maxrss``) is reported and ``since_reset`` is ``False``.

    Attributes:
        peak_bytes (int): the reading after the block.
        kind (str): ``'cuda_max_allocated'`` or ``'cpu_peak_rss'``.
        since_reset (bool): whether the reading covers only the block.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.kind = 'cuda_max_allocated' if device.type == 'cuda' else 'cpu_peak_rss'
        self.peak_bytes = 0
        self.since_reset = True

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        try:
            _CLEAR_REFS.write_text('5')  # '5' resets the peak RSS (Linux >= 4.0)
            self.since_reset = _read_vm_hwm() is not None
        except OSError:
            self.since_reset = False
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            self.peak_bytes = int(torch.cuda.max_memory_allocated(self.device))
            return
        hwm = _read_vm_hwm() if self.since_reset else None
        # ru_maxrss is in kB on Linux
        self.peak_bytes = hwm if hwm is not None else resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss * 1024


@functools.lru_cache(maxsize=None)
def matmul_flops_per_s(dtype: torch.dtype, device: torch.device, size: int = 4096,
                       iters: int = 3, warmup: int = 1) -> float:
    """Dense ``size x size`` by ``size x size`` matmul throughput (median), FLOP/s.

    The one measurement of the peak that the benchmarks' phases are compared
    with; measured once per process for each ``(dtype, device, size)``, so the
    phases of one run share it. The operands come from a generator of their
    own: the global RNG of the run stays untouched.
    """
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, generator=generator).to(dtype)
    b = torch.randn(size, size, device=device, generator=generator).to(dtype)
    stats = time_calls(lambda: torch.mm(a, b), iters, warmup, device)
    return 2 * size**3 / stats.median
