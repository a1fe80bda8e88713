"""Timing of class-conditional sampling through ``ScaleWiseAR.generate``, decoding included."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from sar_mm.models.utils import split_test_cfg
from sar_mm.utils.precision import resolve_precision
from .flop_count import sampling_flops, vq16_decode_flops
from .measure import PeakMemory, matmul_flops_per_s, time_calls
from .model_dims import transformer_dims, vq16_dims
from .phase_timing import PhaseTiming

__all__ = ['sampling_call_flops', 'time_sampling']


def sampling_call_flops(model: nn.Module, patch_nums: Sequence[int]) -> Optional[int]:
    """FLOPs of sampling one image: the KV-cached steps with CFG and the decoder.

    ``None`` for tokenizers without a FLOP model (only ``FlexVQVAE`` has one).
    """
    vae = vq16_dims(model.tokenizer)
    if vae is None:
        return None
    return (sampling_flops(transformer_dims(model.backbone), patch_nums)
            + vq16_decode_flops(vae, patch_nums[-1]))


def time_sampling(model: nn.Module, labels: torch.Tensor, iters: int, warmup: int,
                  seeds: Optional[Sequence[int]] = None,
                  generator: Optional[torch.Generator] = None, peak_size: int = 4096,
                  **overrides) -> PhaseTiming:
    """Time ``model.generate(labels, seeds=seeds, generator=generator, **overrides)``.

    The real sampling path: guidance, the KV cache, token draws and decoding
    to uint8 images, in the precision of the model's ``test_cfg`` with
    ``overrides`` (e.g. ``precision='bf16'``). ``warmup`` untimed calls, then
    ``iters`` timed ones; the peak memory covers all of them.

    Args:
        model (ScaleWiseAR): built, on its device.
        labels (Tensor): (B,) class ids.
        iters (int), warmup (int): timed and untimed calls.
        seeds, generator: as for ``generate``.
        peak_size (int): side of the matmul that measures the peak.
        **overrides: ``test_cfg`` keys for these calls.

    Returns:
        PhaseTiming: ``items`` = B, ``flops`` for the batch, ``last_output``
        the last call's ``generate`` result.
    """
    recipe_overrides, numerics_overrides = split_test_cfg(overrides)
    patch_nums = model.sampling.replace(**recipe_overrides).patch_nums
    device = next(model.backbone.parameters()).device
    precision = resolve_precision(
        model.numerics.replace(**numerics_overrides).precision, device.type)
    peak = matmul_flops_per_s(precision.dtype, device, peak_size)
    outputs = []

    def sample() -> None:
        outputs[:] = [model.generate(labels, seeds=seeds, generator=generator, **overrides)]

    with PeakMemory(device) as memory:
        stats = time_calls(sample, iters, warmup, device)
    flops = sampling_call_flops(model, patch_nums)
    batch = len(labels)
    return PhaseTiming(time_s=stats, items=batch, flops=None if flops is None else batch * flops,
                       precision=precision, matmul_peak=peak, peak_memory=memory,
                       last_output=outputs[0])
