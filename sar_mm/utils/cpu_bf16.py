"""Whether this CPU runs bf16 matrix products natively: a decision that is stable on a machine.

:func:`decide_cpu_bf16` answers from the CPU's capabilities where they tell
(``/proc/cpuinfo`` flags, and the ISA limits a user sets to emulate an older
CPU), and measures only where they cannot:

1. ``ONEDNN_MAX_CPU_ISA`` below ``AVX512_CORE_BF16``, or ``ATEN_CPU_CAPABILITY``
   ``avx2`` / ``default`` (``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2``
   emulates an AVX2-only CPU): no native bf16;
2. ``amx_bf16`` (Sapphire Rapids and newer): native;
3. ``avx512_bf16`` without AMX: bf16 dot products exist but may not beat fp32
   by much, so a 512² matmul is timed in both dtypes, alternating, over
   several rounds; bf16 counts as native when the median speedup is at least
   :data:`BF16_MIN_SPEEDUP`;
4. other x86 flags (AVX2, AVX-512 without BF16): no native bf16 (oneDNN
   emulates it, hundreds of times slower than fp32);
5. no flags to read (not Linux): measured as in 3.

A measured answer is logged with every round's numbers and cached as a small
JSON file in :func:`default_cache_dir` (``$SAR_MM_CACHE_DIR``, else
``$XDG_CACHE_HOME/sar_mm`` or ``~/.cache/sar_mm``), keyed by the CPU model,
its flags, the torch version and the two variables above: later runs on the
machine reuse it instead of measuring again on a machine that may be busy.
``SAR_MM_PRECISION_REFRESH=1`` measures again and rewrites the file.
"""
import functools
import hashlib
import json
import logging
import os
import os.path as osp
import statistics
import time
from dataclasses import dataclass
from typing import Callable, FrozenSet, Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

__all__ = ['BF16_MIN_SPEEDUP', 'CACHE_DIR_ENV', 'REFRESH_ENV', 'CpuFeatures', 'MatmulProbe',
           'CpuBf16Decision', 'measure_cpu_matmul', 'decide_cpu_bf16', 'default_cache_dir',
           'cpu_bf16_decision']

#: bf16 must beat fp32 by this factor (median over the rounds) before it counts as native.
BF16_MIN_SPEEDUP = 1.2
CACHE_DIR_ENV = 'SAR_MM_CACHE_DIR'
REFRESH_ENV = 'SAR_MM_PRECISION_REFRESH'

# oneDNN's ISA names, oldest first; native bf16 dot products from AVX512_CORE_BF16 on
_ONEDNN_ISAS = ('SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE',
                'AVX512_CORE_VNNI', 'AVX512_CORE_BF16', 'AVX10_1_512', 'AVX512_CORE_FP16',
                'AVX10_1_512_AMX', 'AVX512_CORE_AMX', 'AVX10_1_512_AMX_FP16',
                'AVX512_CORE_AMX_FP16', 'ALL')
_ONEDNN_BF16 = frozenset(_ONEDNN_ISAS[_ONEDNN_ISAS.index('AVX512_CORE_BF16'):])
_ATEN_WITHOUT_BF16 = ('default', 'avx2')


@dataclass(frozen=True)
class CpuFeatures:
    """What decides bf16 on this CPU: its model and flags, and the ISA limits in effect."""
    model: str
    flags: FrozenSet[str]
    aten_cpu_capability: Optional[str] = None
    onednn_max_cpu_isa: Optional[str] = None

    @classmethod
    def parse(cls, cpuinfo: str, environ: Mapping[str, str]) -> 'CpuFeatures':
        """From the text of ``/proc/cpuinfo`` (its first processor) and an environment."""
        fields = {}
        for line in cpuinfo.splitlines():
            key, _, value = line.partition(':')
            fields.setdefault(key.strip(), value.strip())
        return cls(model=fields.get('model name', 'unknown'),
                   flags=frozenset(fields.get('flags', '').split()),
                   aten_cpu_capability=environ.get('ATEN_CPU_CAPABILITY') or None,
                   onednn_max_cpu_isa=environ.get('ONEDNN_MAX_CPU_ISA') or None)

    @classmethod
    def of_this_machine(cls) -> 'CpuFeatures':
        try:
            with open('/proc/cpuinfo', encoding='utf-8') as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ''
        return cls.parse(cpuinfo, os.environ)

    def capability_verdict(self) -> Tuple[Optional[bool], str]:
        """``(native, why)``; ``native`` is ``None`` where only a measurement can tell."""
        isa = (self.onednn_max_cpu_isa or '').upper()
        if isa and isa in _ONEDNN_ISAS and isa not in _ONEDNN_BF16:
            return False, f'ONEDNN_MAX_CPU_ISA={self.onednn_max_cpu_isa} has no native bf16'
        if (self.aten_cpu_capability or '').lower() in _ATEN_WITHOUT_BF16:
            return False, (f'ATEN_CPU_CAPABILITY={self.aten_cpu_capability} emulates a CPU '
                           'without native bf16')
        if 'amx_bf16' in self.flags:
            return True, 'CPU flag amx_bf16 (AMX)'
        if 'avx512_bf16' in self.flags:
            return None, 'CPU flag avx512_bf16 without AMX'
        if self.flags:
            return False, 'no amx_bf16 or avx512_bf16 among the CPU flags'
        return None, 'no CPU flags to read'

    def cache_key(self) -> str:
        """SHA-256 of the model, flags, torch version and ISA limits."""
        fields = dict(model=self.model, flags=sorted(self.flags), torch=torch.__version__,
                      ATEN_CPU_CAPABILITY=self.aten_cpu_capability,
                      ONEDNN_MAX_CPU_ISA=self.onednn_max_cpu_isa)
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class MatmulProbe:
    """Dense matmul throughput in fp32 and bf16 (GFLOP/s): medians, and every round."""
    fp32_gflops: float
    bf16_gflops: float
    rounds: Tuple[Tuple[float, float], ...] = ()

    @property
    def bf16_speedup(self) -> float:
        """bf16 throughput over fp32 throughput (below 1: bf16 is slower)."""
        return self.bf16_gflops / self.fp32_gflops

    def describe(self) -> str:
        rounds = ', '.join(f'{fp32:.1f}/{bf16:.1f}' for fp32, bf16 in self.rounds)
        return (f'bf16 matmul {self.bf16_gflops:.1f} GFLOP/s vs fp32 {self.fp32_gflops:.1f} '
                f'GFLOP/s, median of {len(self.rounds) or 1} rounds'
                + (f' (fp32/bf16 per round: {rounds})' if rounds else ''))


@dataclass(frozen=True)
class CpuBf16Decision:
    """Whether autocast to bf16 pays on this CPU, and why."""
    native: bool
    reason: str


def _seconds(a: torch.Tensor, b: torch.Tensor) -> float:
    start = time.perf_counter()
    a @ b
    return time.perf_counter() - start


def measure_cpu_matmul(size: int = 512, rounds: int = 5) -> MatmulProbe:
    """Time a ``size``² matmul in fp32 and bf16, alternating, for ``rounds`` rounds.

    Alternating puts both dtypes under the same load of a shared machine in
    every round; the medians ignore a round that other work disturbed. A bf16
    product slower than 50 ms (emulated) ends the measurement after its round.
    """
    flops = 2.0 * size**3
    with torch.autocast('cpu', enabled=False), torch.no_grad():
        generator = torch.Generator().manual_seed(0)  # the run's global RNG stays untouched
        a32 = torch.randn(size, size, generator=generator)
        b32 = torch.randn(size, size, generator=generator)
        a16, b16 = a32.bfloat16(), b32.bfloat16()
        a32 @ b32, a16 @ b16  # warm-up: kernel selection, first-touch allocation
        measured = []
        for _ in range(rounds):
            fp32_s, bf16_s = _seconds(a32, b32), _seconds(a16, b16)
            measured.append((flops / fp32_s / 1e9, flops / bf16_s / 1e9))
            if bf16_s > 0.05:
                break
    return MatmulProbe(fp32_gflops=statistics.median(r[0] for r in measured),
                       bf16_gflops=statistics.median(r[1] for r in measured),
                       rounds=tuple(measured))


def default_cache_dir() -> str:
    """``$SAR_MM_CACHE_DIR``, else ``$XDG_CACHE_HOME/sar_mm``, else ``~/.cache/sar_mm``."""
    if os.environ.get(CACHE_DIR_ENV):
        return os.environ[CACHE_DIR_ENV]
    base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(base, 'sar_mm')


def _read_cache(path: str) -> Optional[CpuBf16Decision]:
    try:
        with open(path, encoding='utf-8') as f:
            entry = json.load(f)
        probe = MatmulProbe(entry['fp32_gflops'], entry['bf16_gflops'],
                            tuple(tuple(r) for r in entry['rounds']))
        native = bool(entry['native'])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        print_log(f'precision: ignoring the unreadable cache file {path} ({error}); measuring '
                  'again', logger='current', level=logging.WARNING)
        return None
    return CpuBf16Decision(native, f'{entry["why"]}: {probe.describe()}, measured '
                           f'{entry["measured_at"]}, cached in {path} ({REFRESH_ENV}=1 measures '
                           'again)')


def _write_cache(path: str, entry: dict) -> None:
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        partial = f'{path}.{os.getpid()}.partial'
        with open(partial, 'w', encoding='utf-8') as f:
            json.dump(entry, f, indent=1)
        os.replace(partial, path)
    except OSError as error:
        print_log(f'precision: cannot cache the measurement in {path} ({error}); the next run '
                  'measures again', logger='current', level=logging.WARNING)


def decide_cpu_bf16(features: CpuFeatures,
                    measure: Callable[[], MatmulProbe] = measure_cpu_matmul,
                    cache_dir: Optional[str] = None,
                    refresh: bool = False) -> CpuBf16Decision:
    """Whether bf16 is native on a CPU with ``features`` (see the module docstring).

    Args:
        features (CpuFeatures): flags and ISA limits.
        measure (callable): times fp32 against bf16, where the capabilities cannot tell.
        cache_dir (str, optional): where measured decisions are cached; ``None``: not cached.
        refresh (bool): measure even when a cached decision exists, and rewrite it.
    """
    native, why = features.capability_verdict()
    if native is not None:
        return CpuBf16Decision(native, why)
    path = None if cache_dir is None else osp.join(
        cache_dir, f'cpu_bf16_{features.cache_key()[:16]}.json')
    if path is not None and not refresh:
        cached = _read_cache(path)
        if cached is not None:
            return cached
    probe = measure()
    native = probe.bf16_speedup >= BF16_MIN_SPEEDUP
    print_log(f'precision: {why}, so bf16 against fp32 was measured: {probe.describe()}; '
              f'speedup {probe.bf16_speedup:.2f}x {">=" if native else "<"} {BF16_MIN_SPEEDUP}: '
              f'bf16 is {"" if native else "not "}native here'
              + (f' (cached in {path})' if path else ''), logger='current')
    if path is not None:
        _write_cache(path, dict(native=native, why=why, fp32_gflops=probe.fp32_gflops,
                                bf16_gflops=probe.bf16_gflops, rounds=probe.rounds,
                                measured_at=time.strftime('%Y-%m-%d %H:%M:%S'),
                                model=features.model, torch=torch.__version__,
                                ATEN_CPU_CAPABILITY=features.aten_cpu_capability,
                                ONEDNN_MAX_CPU_ISA=features.onednn_max_cpu_isa))
    return CpuBf16Decision(native, f'{why}: {probe.describe()}')


@functools.lru_cache(maxsize=1)
def cpu_bf16_decision() -> CpuBf16Decision:
    """:func:`decide_cpu_bf16` for this machine, its cache and ``$SAR_MM_PRECISION_REFRESH``,
    once per process."""
    return decide_cpu_bf16(CpuFeatures.of_this_machine(), cache_dir=default_cache_dir(),
                           refresh=os.environ.get(REFRESH_ENV) == '1')
