"""The numbers of one timed phase: seconds per call, FLOP/s and the share of the matmul peak."""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from sar_mm.utils.precision import Precision
from .measure import PeakMemory, TimingStats

__all__ = ['PhaseTiming']


@dataclass
class PhaseTiming:
    """One phase (a training step, a sampling call, ...) timed ``iters`` times.

    Attributes:
        time_s (TimingStats): seconds per call; ``median`` is the phase's time.
        items (int): images per call.
        flops (int | None): analytic FLOPs per call
            (:mod:`~sar_mm.benchmarking.flop_count`); ``None`` where there is
            no FLOP model.
        precision (Precision): the precision the phase computed in.
        matmul_peak (float): FLOP/s of a dense square matmul in that dtype on
            the same device (:func:`~sar_mm.benchmarking.matmul_flops_per_s`).
        peak_memory (PeakMemory): the phase's peak memory reading.
        last_output: what the last timed call returned (``train_step``'s log
            dict, ``generate``'s result); not part of :meth:`to_dict`.
    """

    time_s: TimingStats
    items: int
    flops: Optional[int]
    precision: Precision
    matmul_peak: float
    peak_memory: PeakMemory
    last_output: Any = field(default=None, repr=False)

    @property
    def items_per_s(self) -> float:
        return self.items / self.time_s.median

    @property
    def flops_per_s(self) -> Optional[float]:
        return None if self.flops is None else self.flops / self.time_s.median

    @property
    def peak_fraction(self) -> Optional[float]:
        """Achieved FLOP/s over :attr:`matmul_peak` (``None`` without a FLOP count)."""
        return None if self.flops is None else self.flops_per_s / self.matmul_peak

    def to_dict(self) -> Dict:
        """JSON-ready numbers (``dtype``: the precision's name, e.g. ``'bfloat16'``)."""
        return dict(time_s=self.time_s.to_dict(), items_per_s=self.items_per_s, flops=self.flops,
                    flops_per_s=self.flops_per_s, peak_fraction=self.peak_fraction,
                    dtype=self.precision.name, matmul_peak_flops_per_s=self.matmul_peak,
                    peak_memory_bytes=self.peak_memory.peak_bytes,
                    peak_memory_kind=self.peak_memory.kind,
                    peak_memory_since_reset=self.peak_memory.since_reset)
