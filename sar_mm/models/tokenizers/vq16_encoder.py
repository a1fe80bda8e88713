"""Encoder of the LlamaGen VQ-16 autoencoder (FlexVAR ``models/vq_llama.py``).

``conv_in`` -> one level per entry of ``ch_mult`` (``num_res_blocks`` res blocks,
followed each by attention on the lowest-resolution level, then down-sampling
except on the last level) -> ``mid = [res, attn, res]`` -> GroupNorm, swish,
``conv_out`` to ``z_channels`` (docs/method.md §7.14). ``conv_blocks[i]`` is
level ``i`` in execution order.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from .vq16_layers import (AttnBlock, Downsample, ResAttnLevel, ResnetBlock,
                          group_norm, swish)

__all__ = ['VQ16Encoder']


class _EncoderLevel(ResAttnLevel):
    """One resolution level: ``res`` and ``attn`` lists and an optional ``downsample``."""

    def __init__(self, in_channels: int, out_channels: int, num_res_blocks: int, with_attn: bool,
                 with_downsample: bool, dropout: float) -> None:
        super().__init__(in_channels, out_channels, num_res_blocks, with_attn, dropout)
        self.downsample: Optional[Downsample] = (
            Downsample(out_channels) if with_downsample else None)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.run_res_attn(h)
        return h if self.downsample is None else self.downsample(h)


class VQ16Encoder(nn.Module):
    """Image (B, in_channels, H, W) -> features (B, z_channels, H / 2^(n-1), W / 2^(n-1)).

    Args:
        in_channels (int): image channels.
        ch (int): base width.
        ch_mult (sequence of int): width multiplier per level; ``n = len(ch_mult)``.
        num_res_blocks (int): res blocks per level.
        z_channels (int): output channels.
        dropout (float): dropout inside the res blocks.
    """

    def __init__(self, in_channels: int = 3, ch: int = 128,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4), num_res_blocks: int = 2,
                 z_channels: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, ch, kernel_size=3, stride=1, padding=1)
        num_levels = len(ch_mult)
        in_mult = (1, ) + tuple(ch_mult)
        self.conv_blocks = nn.ModuleList([
            _EncoderLevel(ch * in_mult[i], ch * ch_mult[i], num_res_blocks,
                          with_attn=i == num_levels - 1, with_downsample=i != num_levels - 1,
                          dropout=dropout) for i in range(num_levels)
        ])
        top = ch * ch_mult[-1]
        self.mid = nn.ModuleList([
            ResnetBlock(top, top, dropout), AttnBlock(top), ResnetBlock(top, top, dropout)])
        self.norm_out = group_norm(top)
        self.conv_out = nn.Conv2d(top, z_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): (B, in_channels, H, W); returns (B, z_channels, h, w)."""
        h = self.conv_in(x)
        for level in self.conv_blocks:
            h = level(h)
        for block in self.mid:
            h = block(h)
        return self.conv_out(swish(self.norm_out(h)))
