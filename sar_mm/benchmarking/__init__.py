"""Benchmark helpers: analytic FLOP counts, timing and peak memory.

Used by ``tools/analysis_tools/benchmark.py``.
"""
from .flop_count import (TRAIN_FLOPS_MULTIPLIER, TransformerDims, VQ16Dims, conv2d_flops,
                         sampling_flops, sar_step_flops, student_pass_flops,
                         teacher_forcing_flops, transformer_pass_flops, vq16_decode_flops,
                         vq16_encode_flops)
from .measure import (PeakMemory, TimingStats, matmul_flops_per_s, summarize_times, synchronize,
                      time_calls, time_interleaved)
from .model_dims import transformer_dims, vq16_dims

__all__ = [
    'TRAIN_FLOPS_MULTIPLIER', 'TransformerDims', 'VQ16Dims', 'conv2d_flops', 'sampling_flops',
    'sar_step_flops', 'student_pass_flops', 'teacher_forcing_flops', 'transformer_pass_flops',
    'vq16_decode_flops', 'vq16_encode_flops', 'PeakMemory', 'TimingStats', 'matmul_flops_per_s',
    'summarize_times', 'synchronize', 'time_calls', 'time_interleaved', 'transformer_dims',
    'vq16_dims'
]
