"""Convolutional encoder and decoder of VAR's multi-scale VQVAE.

The VQ-f16 autoencoder of latent diffusion as used by VAR (``models/basic_vae.py``),
docs/method.md §7.13:

* ``ch_mult = (1, 1, 2, 2, 4)``; ``num_res_blocks`` res blocks per encoder level and
  ``num_res_blocks + 1`` per decoder level.
* Self-attention after every res block of the lowest-resolution level and in the
  middle (``mid.attn_1``); one ``qkv`` 1x1 conv, scores scaled by ``C ** -0.5``.
* Downsampling pads ``(0, 1, 0, 1)`` before a stride-2 3x3 conv; upsampling is
  nearest x2 followed by a 3x3 conv.
* ``decoder.up[i]`` is indexed by *level* (``up[-1]`` is the lowest resolution) and
  runs from the last level to the first.
* GroupNorm(32 groups, eps 1e-6) and SiLU everywhere.

The encoder and decoder are the two halves of one architecture, so they share
this file with their private building blocks.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['VAREncoder', 'VARDecoder']


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class _Downsample2x(nn.Module):
    """Zero-pad right/bottom by one, then a stride-2 3x3 conv: (B, C, H, W) -> (B, C, H/2, W/2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1), mode='constant', value=0.0))


class _Upsample2x(nn.Module):
    """Nearest x2, then a 3x3 conv: (B, C, H, W) -> (B, C, 2H, 2W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode='nearest'))


class _ResnetBlock(nn.Module):
    """``shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = _group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.norm2 = _group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.nin_shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.nin_shortcut(x) + h


class _AttnBlock(nn.Module):
    """Single-head spatial self-attention with one ``qkv`` 1x1 conv, scores x ``C ** -0.5``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.norm = _group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, kernel_size=1)
        self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        C = self.channels
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, C, H * W).unbind(1)  # each (B, C, HW)
        w = torch.bmm(q.permute(0, 2, 1), k).mul_(C ** -0.5)  # (B, HW_q, HW_k)
        w = F.softmax(w, dim=2)
        h = torch.bmm(v, w.permute(0, 2, 1))  # (B, C, HW_q)
        return x + self.proj_out(h.view(B, C, H, W))


class VAREncoder(nn.Module):
    """Image -> latent of VAR's VQVAE (before ``quant_conv``).

    Args:
        ch (int): base width (160 in the release).
        z_channels (int): latent channels (32).
        ch_mult (Sequence[int]): width multiplier per level; the image is
            downsampled ``2 ** (len(ch_mult) - 1)`` times.
        num_res_blocks (int): res blocks per level.
        in_channels (int): image channels.

    Shapes:
        (B, in_channels, H, W) -> (B, z_channels, H / 16, W / 16) for the release.
    """

    def __init__(self, ch: int, z_channels: int, ch_mult: Sequence[int] = (1, 1, 2, 2, 4),
                 num_res_blocks: int = 2, in_channels: int = 3) -> None:
        super().__init__()
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        self.conv_in = nn.Conv2d(in_channels, ch, kernel_size=3, stride=1, padding=1)
        in_ch_mult = (1, ) + tuple(ch_mult)
        self.down = nn.ModuleList()
        block_in = ch
        for i_level in range(self.num_resolutions):
            lowest = i_level == self.num_resolutions - 1
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_in = ch * in_ch_mult[i_level]
            block_out = ch * ch_mult[i_level]
            for _ in range(num_res_blocks):
                block.append(_ResnetBlock(block_in, block_out))
                block_in = block_out
                if lowest:
                    attn.append(_AttnBlock(block_in))
            level = nn.Module()
            level.block = block
            level.attn = attn
            if not lowest:
                level.downsample = _Downsample2x(block_in)
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = _ResnetBlock(block_in, block_in)
        self.mid.attn_1 = _AttnBlock(block_in)
        self.mid.block_2 = _ResnetBlock(block_in, block_in)
        self.norm_out = _group_norm(block_in)
        self.conv_out = nn.Conv2d(block_in, z_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): (B, 3, H, W) in [-1, 1]; returns (B, z_channels, h, w)."""
        h = self.conv_in(x)
        for i_level, level in enumerate(self.down):
            for i_block in range(self.num_res_blocks):
                h = level.block[i_block](h)
                if len(level.attn) > 0:
                    h = level.attn[i_block](h)
            if i_level != self.num_resolutions - 1:
                h = level.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class VARDecoder(nn.Module):
    """Latent (after ``post_quant_conv``) -> image of VAR's VQVAE.

    Args:
        ch (int): base width.
        z_channels (int): latent channels.
        ch_mult (Sequence[int]): width multiplier per level.
        num_res_blocks (int): the decoder runs ``num_res_blocks + 1`` per level.
        out_channels (int): image channels.

    Shapes:
        (B, z_channels, h, w) -> (B, out_channels, 16 h, 16 w) for the release;
        the output is not clamped.
    """

    def __init__(self, ch: int, z_channels: int, ch_mult: Sequence[int] = (1, 1, 2, 2, 4),
                 num_res_blocks: int = 2, out_channels: int = 3) -> None:
        super().__init__()
        self.num_resolutions = len(ch_mult)
        self.num_res_blocks = num_res_blocks
        block_in = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z_channels, block_in, kernel_size=3, stride=1, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = _ResnetBlock(block_in, block_in)
        self.mid.attn_1 = _AttnBlock(block_in)
        self.mid.block_2 = _ResnetBlock(block_in, block_in)
        levels = []
        for i_level in reversed(range(self.num_resolutions)):
            block, attn = nn.ModuleList(), nn.ModuleList()
            block_out = ch * ch_mult[i_level]
            for _ in range(num_res_blocks + 1):
                block.append(_ResnetBlock(block_in, block_out))
                block_in = block_out
                if i_level == self.num_resolutions - 1:
                    attn.append(_AttnBlock(block_in))
            level = nn.Module()
            level.block = block
            level.attn = attn
            if i_level != 0:
                level.upsample = _Upsample2x(block_in)
            levels.insert(0, level)  # ``up[i]`` is level i, built lowest-resolution first
        self.up = nn.ModuleList(levels)
        self.norm_out = _group_norm(block_in)
        self.conv_out = nn.Conv2d(block_in, out_channels, kernel_size=3, stride=1, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z (Tensor): (B, z_channels, h, w); returns the raw image (B, 3, H, W)."""
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for i_level in reversed(range(self.num_resolutions)):
            level = self.up[i_level]
            for i_block in range(self.num_res_blocks + 1):
                h = level.block[i_block](h)
                if len(level.attn) > 0:
                    h = level.attn[i_block](h)
            if i_level != 0:
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))
