"""VAR's next-scale prediction transformer.

Implements ``models/var.py: VAR`` (Tian et al., 2024, section 3.2) on the
shared body of :class:`~sar_mm.models.backbones.base_backbone.BaseScaleTransformer`:

* width ``C = 64 * depth``, ``depth`` heads of 64 channels, drop-path rates
  ``linspace(0, 0.1 * depth / 24, depth)`` (docs/method.md §7.6);
* conditioning ``cond = class_emb(label)`` (unconditional class ``num_classes``),
  start token ``cond + pos_start`` (§7.5);
* positions ``lvl_embed(level) + pos_1LC`` with a learned (1, L, C) table for
  the fixed schedule the model is built with (§7.11); a shorter schedule
  must be a prefix of it;
* float32 logits (``float32_logits``, §7.12);
* a student-forcing pass (docs/method.md §2.4), which VAR has not: SAR's
  FlexVAR one with VAR's positions, the class token at ``lvl_embed(0) + pos_1LC[0]``;
* a block-causal mask over scales for teacher forcing, a KV cache for sampling
  (§7.4).

Official attribute names are kept. ``lvl_1L`` and ``attn_bias_for_masking`` are
rebuilt from the schedule and are non-persistent buffers; the converter drops
them from release checkpoints.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from sar_mm.registry import BACKBONES
from ..utils.scale_layout import CANONICAL_PATCH_NUMS, num_tokens, scale_slices
from .base_backbone import BaseScaleTransformer, as_schedule
from .layers import block_causal_bias

__all__ = ['VARTransformer']


@BACKBONES.register_module()
class VARTransformer(BaseScaleTransformer):
    """Class-conditional VAR transformer (``var_d{16,20,24,30}.pth``).

    Args:
        depth (int): number of blocks; width ``64 * depth``, ``depth`` heads.
        patch_nums (Sequence[int]): the fixed schedule of the position table.
        vocab_size (int): tokenizer vocabulary ``V``.
        **kwargs: the other arguments of
            :class:`~sar_mm.models.backbones.base_backbone.BaseScaleTransformer`
            (``init_adaln_gamma`` 1e-5, as ``build_vae_var``).
    """

    float32_logits = True

    def __init__(self, depth: int,
                 patch_nums: Sequence[int] = CANONICAL_PATCH_NUMS,
                 vocab_size: int = 4096, **kwargs) -> None:
        pns = as_schedule(patch_nums)
        sizes = [pn * pn for pn in pns]
        C = 64 * depth
        tables = dict(pos_1LC=nn.Parameter(torch.zeros(1, num_tokens(pns), C)),
                      lvl_embed=nn.Embedding(len(pns), C))
        super().__init__(depth, vocab_size, tables, **kwargs)
        self.patch_nums: Tuple[int, ...] = pns
        lvl_1L = torch.cat([torch.full((n, ), i) for i, n in enumerate(sizes)]).view(1, -1)
        self.register_buffer('lvl_1L', lvl_1L, persistent=False)
        self.register_buffer('attn_bias_for_masking', block_causal_bias(sizes), persistent=False)

    def init_weights(self) -> None:
        """The shared init, then ``pos_1LC`` ~ trunc_normal(std = sqrt(1 / (3C)))
        (``VAR.init_weights`` as ``build_vae_var`` calls it; the same draw order)."""
        super().init_weights()
        nn.init.trunc_normal_(self.pos_1LC, std=math.sqrt(1 / self.embed_dim / 3))

    def check_schedule(self, patch_nums: Sequence[int]) -> Tuple[int, ...]:
        pns = as_schedule(patch_nums)
        if pns != self.patch_nums[:len(pns)]:
            raise ValueError(f'VARTransformer has a learned position table for the fixed '
                             f'schedule {list(self.patch_nums)}; got {list(pns)}, which is '
                             'not that schedule or a prefix of it')
        return pns

    def scale_positions(self, patch_nums: Tuple[int, ...], si: int) -> torch.Tensor:
        """``lvl_embed(si) + pos_1LC`` rows of scale ``si`` (§7.11): (1, pn_si ** 2, C)."""
        rows = scale_slices(self.patch_nums)[si]
        return self.lvl_embed(self.lvl_1L[:, rows]) + self.pos_1LC[:, rows]

    def attn_bias(self, patch_nums: Sequence[int], device: torch.device,
                  dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """A corner of ``attn_bias_for_masking`` (float32, as VAR) for a prefix of the
        built schedule; the base's cached mask for any other layout (a student pass)."""
        pns = tuple(int(pn) for pn in patch_nums)
        if pns != self.patch_nums[:len(pns)]:
            return super().attn_bias(pns, device, dtype)
        L = num_tokens(pns)
        return self.attn_bias_for_masking[:, :, :L, :L]
