"""Tiny stand-in settings for every tokenizer and backbone type.

Merged into a real config's ``model.tokenizer`` / ``model.backbone``, they keep
each component's type (and so its code path) and shrink only its sizes, so a
full-size config builds and runs in seconds on a CPU (config tests, the CPU
smoke mode of ``tools/analysis_tools/gpu_check.py``).
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn

__all__ = ['tiny_component_settings', 'perturb_weights']


@torch.no_grad()
def perturb_weights(module: nn.Module, scale: float = 0.1) -> nn.Module:
    """Add ``scale * N(0, 1)`` noise (global RNG) to every parameter, in place.

    The official init makes the AdaLN blocks near-identities, so a freshly
    built tiny model's predictions hardly depend on labels and inputs; tests
    perturb it first so that their checks mean something. Returns ``module``.
    """
    for p in module.parameters():
        p.add_(torch.randn_like(p) * scale)
    return module


def tiny_component_settings(patch_nums: Sequence[int]) -> Tuple[Dict[str, dict], Dict[str, dict]]:
    """``(tokenizers, backbones)``: registered type name -> keyword overrides.

    Args:
        patch_nums: the schedule the tiny models run (VAR's tokenizer and
            backbone are built for a fixed one).
    """
    patch_nums = tuple(patch_nums)
    tokenizers = dict(
        FlexVQVAE=dict(ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1, vocab_size=64,
                       embed_dim=8, usage_buffer_size=16),
        MultiScaleVQVAE=dict(ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 1),
                             num_res_blocks=1, patch_nums=patch_nums),
    )
    backbones = dict(
        FlexVARTransformer=dict(depth=1, vocab_size=64, cvae=8),
        VARTransformer=dict(depth=1, vocab_size=64, cvae=8, patch_nums=patch_nums),
    )
    return tokenizers, backbones
