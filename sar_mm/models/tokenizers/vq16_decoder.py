"""Decoder of the LlamaGen VQ-16 autoencoder (FlexVAR ``models/vq_llama.py``).

``conv_in`` from ``z_channels`` -> ``mid = [res, attn, res]`` -> one level per
entry of ``ch_mult`` from the lowest resolution up (``num_res_blocks + 1`` res
blocks, followed each by attention on the lowest-resolution level, then
up-sampling except on the last level) -> GroupNorm, swish, ``conv_out``.
``conv_blocks[0]`` is the **lowest** resolution (execution order;
docs/method.md §7.14).
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn

from .vq16_layers import (AttnBlock, ResAttnLevel, ResnetBlock, Upsample,
                          group_norm, swish)

__all__ = ['VQ16Decoder']


class _DecoderLevel(ResAttnLevel):
    """One resolution level: ``res`` and ``attn`` lists and an optional ``upsample``."""

    def __init__(self, in_channels: int, out_channels: int, num_res_blocks: int, with_attn: bool,
                 with_upsample: bool, dropout: float) -> None:
        super().__init__(in_channels, out_channels, num_res_blocks, with_attn, dropout)
        self.upsample: Optional[Upsample] = Upsample(out_channels) if with_upsample else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.run_res_attn(h)
        return h if self.upsample is None else self.upsample(h)


class VQ16Decoder(nn.Module):
    """Features (B, z_channels, h, w) -> image (B, out_channels, h 2^(n-1), w 2^(n-1)).

    Args:
        z_channels (int): input channels.
        ch (int): base width.
        ch_mult (sequence of int): width multiplier per level (listed from the
            highest resolution, as in the encoder); ``n = len(ch_mult)``.
        num_res_blocks (int): the decoder runs ``num_res_blocks + 1`` per level.
        out_channels (int): image channels.
        dropout (float): dropout inside the res blocks.
    """

    def __init__(self, z_channels: int = 256, ch: int = 128,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4), num_res_blocks: int = 2,
                 out_channels: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        num_levels = len(ch_mult)
        block_in = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, block_in, kernel_size=3, stride=1, padding=1)
        self.mid = nn.ModuleList([
            ResnetBlock(block_in, block_in, dropout), AttnBlock(block_in),
            ResnetBlock(block_in, block_in, dropout)])
        self.conv_blocks = nn.ModuleList()
        for step, level in enumerate(reversed(range(num_levels))):
            block_out = ch * ch_mult[level]
            self.conv_blocks.append(
                _DecoderLevel(block_in, block_out, num_res_blocks + 1,
                              with_attn=step == 0, with_upsample=step != num_levels - 1,
                              dropout=dropout))
            block_in = block_out
        self.norm_out = group_norm(block_in)
        self.conv_out = nn.Conv2d(block_in, out_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (Tensor): (B, z_channels, h, w); returns (B, out_channels, H, W)."""
        h = self.conv_in(z)
        for block in self.mid:
            h = block(h)
        for level in self.conv_blocks:
            h = level(h)
        return self.conv_out(swish(self.norm_out(h)))
