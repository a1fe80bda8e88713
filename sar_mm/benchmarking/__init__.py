"""Benchmark core: analytic FLOP counts, timing, peak memory and timed phases.

The timed phases (:func:`time_train_steps`, :func:`time_sampling`) serve
``tools/analysis_tools/benchmark.py`` and ``tools/analysis_tools/gpu_check.py``.
"""
from .flop_count import (TRAIN_FLOPS_MULTIPLIER, TransformerDims, VQ16Dims, conv2d_flops,
                         sampling_flops, sar_step_flops, student_pass_flops,
                         teacher_forcing_flops, transformer_pass_flops, vq16_decode_flops,
                         vq16_encode_flops)
from .measure import (PeakMemory, TimingStats, matmul_flops_per_s, summarize_times, synchronize,
                      time_calls, time_interleaved)
from .model_dims import transformer_dims, vq16_dims
from .phase_timing import PhaseTiming
from .sampling_timing import sampling_call_flops, time_sampling
from .train_step_timing import TrainRecipe, time_train_steps, train_step_flops

__all__ = [
    'TRAIN_FLOPS_MULTIPLIER', 'TransformerDims', 'VQ16Dims', 'conv2d_flops', 'sampling_flops',
    'sar_step_flops', 'student_pass_flops', 'teacher_forcing_flops', 'transformer_pass_flops',
    'vq16_decode_flops', 'vq16_encode_flops', 'PeakMemory', 'TimingStats', 'matmul_flops_per_s',
    'summarize_times', 'synchronize', 'time_calls', 'time_interleaved', 'transformer_dims',
    'vq16_dims', 'PhaseTiming', 'sampling_call_flops', 'time_sampling', 'TrainRecipe',
    'time_train_steps', 'train_step_flops'
]
