"""Convolutional layers of the LlamaGen VQ-16 autoencoder used by FlexVAR.

FlexVAR ``models/vq_llama.py`` (docs/method.md §7.14): GroupNorm(32, eps
1e-6) with affine parameters, swish ``x * sigmoid(x)``, attention with separate
1x1 ``q``/``k``/``v`` convolutions plus ``proj_out`` scaled by ``C ** -0.5``,
down-sampling by a (0, 1, 0, 1) pad and a stride-2 convolution, up-sampling by
nearest x2 and a convolution. Attribute names follow the official code.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['group_norm', 'swish', 'ResnetBlock', 'AttnBlock', 'Downsample', 'Upsample',
           'ResAttnLevel']


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with 32 groups, eps 1e-6 and affine parameters."""
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


def swish(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)``, written as in the official code."""
    return x * torch.sigmoid(x)


class ResnetBlock(nn.Module):
    """``x + conv2(swish(norm2(conv1(swish(norm1(x))))))`` with a 1x1 shortcut.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels; a 1x1 ``nin_shortcut`` maps the
            input when they differ.
        dropout (float): dropout before ``conv2``.
    """

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1)
        if in_channels != out_channels:
            self.nin_shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.nin_shortcut = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): (B, C_in, H, W); returns (B, C_out, H, W)."""
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(self.dropout(swish(self.norm2(h))))
        if self.nin_shortcut is not None:
            x = self.nin_shortcut(x)
        return x + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with a residual connection.

    Args:
        channels (int): feature channels ``C``; scores are scaled by ``C ** -0.5``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, kernel_size=1)
        self.k = nn.Conv2d(channels, channels, kernel_size=1)
        self.v = nn.Conv2d(channels, channels, kernel_size=1)
        self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor): (B, C, H, W); returns (B, C, H, W)."""
        B, C, H, W = x.shape
        h = self.norm(x)
        q = self.q(h).reshape(B, 1, C, H * W).transpose(2, 3)  # (B, 1, HW, C)
        k = self.k(h).reshape(B, 1, C, H * W).transpose(2, 3)  # (B, 1, HW, C)
        v = self.v(h).reshape(B, 1, C, H * W).transpose(2, 3)  # (B, 1, HW, C)
        out = F.scaled_dot_product_attention(q, k, v, scale=C ** -0.5)  # (B, 1, HW, C)
        out = out.transpose(2, 3).reshape(B, C, H, W)  # (B, C, H, W)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Pad (0, 1, 0, 1) with zeros, then a 3x3 stride-2 convolution: H -> H / 2."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1), mode='constant', value=0.0))


class Upsample(nn.Module):
    """Nearest-neighbour x2, then a 3x3 convolution: H -> 2H."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class ResAttnLevel(nn.Module):
    """The res blocks of one resolution level, each followed by attention if asked.

    Encoder and decoder levels add their own ``downsample`` / ``upsample``
    (attribute names are checkpoint keys: ``conv_blocks.i.res.j``,
    ``conv_blocks.i.attn.j``).
    """

    def __init__(self, in_channels: int, out_channels: int, num_res_blocks: int, with_attn: bool,
                 dropout: float) -> None:
        super().__init__()
        self.res = nn.ModuleList()
        self.attn = nn.ModuleList()
        for _ in range(num_res_blocks):
            self.res.append(ResnetBlock(in_channels, out_channels, dropout))
            in_channels = out_channels
            if with_attn:
                self.attn.append(AttnBlock(out_channels))

    def run_res_attn(self, h: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W)."""
        for i, res in enumerate(self.res):
            h = res(h)
            if len(self.attn) > 0:
                h = self.attn[i](h)
        return h
