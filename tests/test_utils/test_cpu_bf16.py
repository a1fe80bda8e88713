"""The CPU's bf16 decision: capabilities first, a measurement with a margin where they cannot
tell, cached per machine. Every CPU here is a mocked /proc/cpuinfo; every timing is mocked."""
import json

import pytest
import torch

from sar_mm.utils import cpu_bf16
from sar_mm.utils.cpu_bf16 import (BF16_MIN_SPEEDUP, CpuFeatures, MatmulProbe, decide_cpu_bf16,
                                   measure_cpu_matmul)

BASE_FLAGS = 'fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma'


def cpuinfo(flags: str, model: str = 'Test CPU') -> str:
    """Two processors, as /proc/cpuinfo lists them (the first one is read)."""
    block = f'processor\t: {{}}\nmodel name\t: {model}\nflags\t\t: {BASE_FLAGS} {flags}\n'
    return block.format(0) + '\n' + block.format(1)


AMX = cpuinfo('avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8')
AVX512_BF16 = cpuinfo('avx512f avx512bw avx512_bf16')
AVX512 = cpuinfo('avx512f avx512bw')
AVX2 = cpuinfo('')
NO_FLAGS = 'processor\t: 0\nBogoMIPS\t: 50.00\n'  # e.g. not x86


def never_measure() -> MatmulProbe:
    raise AssertionError('the capabilities tell; nothing should be measured')


def probe(speedup: float) -> MatmulProbe:
    return MatmulProbe(100.0, 100.0 * speedup, rounds=((100.0, 100.0 * speedup), ))


@pytest.mark.parametrize('text,environ,native,why', [
    (AMX, {}, True, 'CPU flag amx_bf16 (AMX)'),
    (AVX2, {}, False, 'no amx_bf16 or avx512_bf16 among the CPU flags'),
    (AVX512, {}, False, 'no amx_bf16 or avx512_bf16 among the CPU flags'),
    # the emulation of an AVX2-only CPU on an AMX machine, either variable alone
    (AMX, dict(ATEN_CPU_CAPABILITY='avx2', ONEDNN_MAX_CPU_ISA='AVX2'), False,
     'ONEDNN_MAX_CPU_ISA=AVX2 has no native bf16'),
    (AMX, dict(ONEDNN_MAX_CPU_ISA='avx512_core'), False,
     'ONEDNN_MAX_CPU_ISA=avx512_core has no native bf16'),
    (AMX, dict(ATEN_CPU_CAPABILITY='default'), False,
     'ATEN_CPU_CAPABILITY=default emulates a CPU without native bf16'),
    # limits that keep bf16
    (AMX, dict(ONEDNN_MAX_CPU_ISA='AVX512_CORE_AMX', ATEN_CPU_CAPABILITY='avx512'), True,
     'CPU flag amx_bf16 (AMX)'),
])
def test_capabilities_decide_without_measuring(text, environ, native, why, tmp_path):
    decision = decide_cpu_bf16(CpuFeatures.parse(text, environ), measure=never_measure,
                               cache_dir=str(tmp_path))
    assert (decision.native, decision.reason) == (native, why)
    assert not list(tmp_path.iterdir())  # nothing to cache


@pytest.mark.parametrize('text', [AVX512_BF16, NO_FLAGS])
@pytest.mark.parametrize('speedup,native', [(BF16_MIN_SPEEDUP * 1.01, True),
                                            (BF16_MIN_SPEEDUP * 0.99, False), (0.004, False)])
def test_undecided_cpus_are_measured_against_the_margin(text, speedup, native, monkeypatch):
    lines = []
    monkeypatch.setattr(cpu_bf16, 'print_log', lambda message, **kwargs: lines.append(message))
    decision = decide_cpu_bf16(CpuFeatures.parse(text, {}), measure=lambda: probe(speedup))
    assert decision.native is native
    assert f'{100 * speedup:.1f} GFLOP/s' in decision.reason
    assert len(lines) == 1 and f'speedup {speedup:.2f}x' in lines[0]


def test_measurement_alternates_dtypes_and_takes_the_medians(monkeypatch):
    """Five rounds of (fp32, bf16) times; one disturbed round does not move the medians."""
    seconds = [0.010, 0.005,  # round 1: bf16 2x faster
               0.010, 0.004,
               0.100, 0.040,  # a busy moment: both slow
               0.010, 0.005,
               0.011, 0.005]
    calls = iter(seconds)
    monkeypatch.setattr(cpu_bf16, '_seconds', lambda a, b: next(calls))
    measured = measure_cpu_matmul(size=64, rounds=5)
    flops = 2.0 * 64**3
    assert len(measured.rounds) == 5
    assert measured.fp32_gflops == pytest.approx(flops / 0.010 / 1e9)
    assert measured.bf16_gflops == pytest.approx(flops / 0.005 / 1e9)
    assert measured.bf16_speedup == pytest.approx(2.0)


def test_an_emulated_bf16_ends_the_measurement_after_one_round(monkeypatch):
    calls = iter([0.003, 0.9])
    monkeypatch.setattr(cpu_bf16, '_seconds', lambda a, b: next(calls))
    measured = measure_cpu_matmul(size=64, rounds=5)
    assert len(measured.rounds) == 1 and measured.bf16_speedup == pytest.approx(0.003 / 0.9)


def test_a_measured_decision_is_cached_per_machine_and_can_be_refreshed(tmp_path):
    features = CpuFeatures.parse(AVX512_BF16, {})
    first = decide_cpu_bf16(features, measure=lambda: probe(2.0), cache_dir=str(tmp_path))
    (cache_file, ) = tmp_path.iterdir()
    entry = json.loads(cache_file.read_text())
    assert entry['native'] is True and entry['rounds'] == [[100.0, 200.0]]
    assert entry['model'] == 'Test CPU'
    # a later run on the machine, however busy, reuses it
    again = decide_cpu_bf16(features, measure=never_measure, cache_dir=str(tmp_path))
    assert again.native is True and f'cached in {cache_file}' in again.reason
    assert first.reason.split(':')[0] == again.reason.split(':')[0]
    # another CPU model (or torch version, or ISA limit) is another key
    other = CpuFeatures.parse(cpuinfo('avx512f avx512_bf16', model='Other CPU'), {})
    assert decide_cpu_bf16(other, measure=lambda: probe(1.0), cache_dir=str(tmp_path)).native \
        is False
    assert len(list(tmp_path.iterdir())) == 2
    # refresh measures again and rewrites the entry
    refreshed = decide_cpu_bf16(features, measure=lambda: probe(1.1), cache_dir=str(tmp_path),
                                refresh=True)
    assert refreshed.native is False
    assert json.loads(cache_file.read_text())['native'] is False
    assert decide_cpu_bf16(features, measure=never_measure, cache_dir=str(tmp_path)).native \
        is False


def test_an_unreadable_cache_entry_is_measured_again(tmp_path):
    features = CpuFeatures.parse(AVX512_BF16, {})
    decide_cpu_bf16(features, measure=lambda: probe(2.0), cache_dir=str(tmp_path))
    (cache_file, ) = tmp_path.iterdir()
    cache_file.write_text('{"native": tr')  # cut short
    assert decide_cpu_bf16(features, measure=lambda: probe(0.5),
                           cache_dir=str(tmp_path)).native is False
    assert json.loads(cache_file.read_text())['native'] is False


def test_the_cache_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('SAR_MM_CACHE_DIR', str(tmp_path / 'cache'))
    assert cpu_bf16.default_cache_dir() == str(tmp_path / 'cache')
    monkeypatch.delenv('SAR_MM_CACHE_DIR')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert cpu_bf16.default_cache_dir() == str(tmp_path / 'xdg' / 'sar_mm')


def test_the_measurement_leaves_the_global_rng_alone():
    """Measured during a run: the run's random stream must not depend on it."""
    state = torch.get_rng_state()
    measure_cpu_matmul(size=8, rounds=1)
    assert torch.equal(torch.get_rng_state(), state)
