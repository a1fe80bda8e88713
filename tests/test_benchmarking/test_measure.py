"""Timing bookkeeping of sar_mm.benchmarking.measure (not speed)."""
import pytest
import torch

from sar_mm.benchmarking import summarize_times, time_interleaved


def test_interleaved_rounds_call_each_function_once_per_round_in_order():
    calls = []
    samples = time_interleaved({'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')},
                               iters=3, device=torch.device('cpu'))
    assert calls == ['a', 'b'] * 3
    assert set(samples) == {'a', 'b'} and all(len(v) == 3 for v in samples.values())
    assert all(t >= 0 for v in samples.values() for t in v)
    with pytest.raises(ValueError, match='iters >= 1'):
        time_interleaved({'a': lambda: None}, iters=0, device=torch.device('cpu'))


def test_summary_statistics_by_hand():
    stats = summarize_times([3.0, 1.0, 2.0])
    assert (stats.median, stats.min, stats.max, stats.spread) == (2.0, 1.0, 3.0, 1.0)
    with pytest.raises(ValueError):
        summarize_times([])
