"""Precision policy: 'auto' follows the hardware, an explicit dtype always wins."""
import json
import logging
import os
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MMLogger

from sar_mm.utils import precision as precision_module
from sar_mm.utils.cpu_bf16 import BF16_MIN_SPEEDUP, CpuBf16Decision
from sar_mm.utils.precision import (Precision, allow_tf32, log_precision_once, parse_precision,
                                    resolve_precision)

NATIVE = CpuBf16Decision(True, 'CPU flag amx_bf16 (AMX)')
EMULATED = CpuBf16Decision(False, 'no amx_bf16 or avx512_bf16 among the CPU flags')
EMULATION = dict(ATEN_CPU_CAPABILITY='avx2', ONEDNN_MAX_CPU_ISA='AVX2')


def test_auto_on_cpu_follows_the_cpu_decision():
    fast = resolve_precision('auto', 'cpu', cpu_decision=lambda: NATIVE)
    assert fast.dtype is torch.bfloat16 and fast.autocast_enabled
    assert fast.reason == 'auto: CPU runs bf16 natively, CPU flag amx_bf16 (AMX)'
    slow = resolve_precision(None, 'cpu', cpu_decision=lambda: EMULATED)
    assert slow.dtype is torch.float32 and not slow.autocast_enabled
    assert slow.describe() == ('precision: float32 (auto: CPU has no native bf16, no amx_bf16 '
                               'or avx512_bf16 among the CPU flags)')


def test_auto_on_cuda_is_fp16_without_a_gpu_or_a_probe():
    def no_decision():
        raise AssertionError('CUDA needs no CPU decision')

    chosen = resolve_precision('auto', 'cuda', cpu_decision=no_decision)
    assert (chosen.device_type, chosen.dtype) == ('cuda', torch.float16)
    assert resolve_precision('bf16', 'cuda', cpu_decision=no_decision).dtype is torch.bfloat16


@pytest.mark.parametrize('name,dtype', [('fp32', torch.float32), ('float32', torch.float32),
                                        ('bf16', torch.bfloat16), ('bfloat16', torch.bfloat16),
                                        ('fp16', torch.float16), ('float16', torch.float16)])
def test_an_explicit_dtype_is_honoured_whatever_the_cpu(name, dtype):
    for decision in (NATIVE, EMULATED):
        chosen = resolve_precision(name, 'cpu', cpu_decision=lambda d=decision: d)
        assert chosen.dtype is dtype and chosen.reason.startswith('requested')


def test_forced_bf16_on_a_cpu_without_native_bf16_warns_once(monkeypatch):
    monkeypatch.setattr(precision_module, '_LOGGED', set())
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        for _ in range(3):
            chosen = resolve_precision('bf16', 'cpu', cpu_decision=lambda: EMULATED)
        resolve_precision('bf16', 'cpu', cpu_decision=lambda: NATIVE)
    finally:
        logger.removeHandler(handler)
    assert chosen.dtype is torch.bfloat16
    assert chosen.reason == 'requested; no native bf16 on this CPU'
    warnings = [r for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith(
        'bf16 was requested on a CPU without native bf16 matrix products (no amx_bf16 or '
        'avx512_bf16 among the CPU flags)')


def test_the_choice_is_logged_once(monkeypatch):
    monkeypatch.setattr(precision_module, '_LOGGED', set())
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        for _ in range(2):
            log_precision_once(Precision('cpu', torch.float32, 'auto: CPU has no native bf16'))
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        'precision: float32 (auto: CPU has no native bf16)']


def test_autocast_context_matches_the_dtype():
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with Precision('cpu', torch.bfloat16, 'test').autocast():
        assert layer(x).dtype is torch.bfloat16
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with Precision('cpu', torch.float32, 'test').autocast():  # fp32 switches it off
            assert layer(x).dtype is torch.float32


def test_bad_names_are_refused():
    assert parse_precision('auto') is None and parse_precision(None) is None
    with pytest.raises(ValueError, match="'auto' or one of"):
        parse_precision('half')
    with pytest.raises(ValueError, match='device_type'):
        resolve_precision('auto', 'mps')


def _tf32_flags():
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


@pytest.mark.parametrize('before', [(False, True), (True, False), (False, False)])
def test_allow_tf32_sets_both_flags_for_the_block_and_restores_them(before):
    saved = _tf32_flags()
    try:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
        with allow_tf32(True):
            assert _tf32_flags() == (True, True)
            with allow_tf32(False):
                assert _tf32_flags() == (False, False)
            assert _tf32_flags() == (True, True)
        assert _tf32_flags() == before
        with pytest.raises(RuntimeError, match='boom'):
            with allow_tf32(True):
                raise RuntimeError('boom')
        assert _tf32_flags() == before
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


_CHOOSE = ('import json; from sar_mm.utils.precision import resolve_precision; '
           'from sar_mm.utils.cpu_bf16 import measure_cpu_matmul; '
           'p = resolve_precision("auto", "cpu"); m = measure_cpu_matmul(); '
           'print(json.dumps(dict(dtype=p.name, speedup=m.bf16_speedup, reason=p.reason)))')


def _choose_in_subprocess(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in EMULATION}
    env.update(env_extra)
    out = subprocess.run([sys.executable, '-c', _CHOOSE], env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_auto_picks_fp32_under_the_avx2_emulation():
    """ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 makes bf16 matmuls emulated on
    any x86 CPU (checked by the measurement itself); 'auto' reads the limit and picks fp32."""
    emulated = _choose_in_subprocess(EMULATION)
    assert emulated['speedup'] < 1.0, emulated
    assert emulated['dtype'] == 'float32'
    assert 'ONEDNN_MAX_CPU_ISA=AVX2 has no native bf16' in emulated['reason']


def test_native_choice_agrees_with_the_native_measurement():
    native = _choose_in_subprocess({})
    expected = 'bfloat16' if native['speedup'] >= BF16_MIN_SPEEDUP else 'float32'
    assert native['dtype'] == expected
