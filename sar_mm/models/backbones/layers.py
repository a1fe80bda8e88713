"""Transformer layers shared by the VAR and FlexVAR backbones.

Implements the AdaLN self-attention block of VAR (``models/basic_var.py``), also
used unchanged by FlexVAR and SAR. Attribute names follow the official code so
that checkpoints convert with a prefix only (docs/method.md §7.1-7.4).
"""
import functools
import math
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    'block_causal_bias', 'attention_dtype', 'run_blocks', 'compiled_run_blocks', 'BlockCache',
    'DropPath', 'FFN', 'SelfAttention', 'AdaLNSelfAttn', 'AdaLNBeforeHead'
]


def block_causal_bias(block_sizes: Sequence[int]) -> torch.Tensor:
    """Additive block-causal mask: a query of block i sees the keys of blocks <= i.

    Args:
        block_sizes: tokens per block, e.g. ``[pn ** 2 for pn in patch_nums]``.

    Returns:
        Tensor: (1, 1, L, L) float32 with 0 where attention is allowed, -inf elsewhere.
    """
    block_of = torch.cat([torch.full((n, ), i) for i, n in enumerate(block_sizes)])  # (L,)
    allowed = block_of[:, None] >= block_of[None, :]  # (L_q, L_k)
    bias = torch.zeros(allowed.shape).masked_fill_(~allowed, -math.inf)
    return bias.view(1, 1, *allowed.shape)


def attention_dtype(device_type: str, default: torch.dtype) -> torch.dtype:
    """The dtype attention computes in: autocast's on ``device_type`` if on, else ``default``.

    Under autocast ``F.scaled_dot_product_attention`` casts its inputs to the
    autocast dtype, so casting q, k, v, the mask and the KV cache to it first
    changes no result and saves the round trips through float32.
    """
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return default


def run_blocks(blocks: nn.ModuleList, x_BLC: torch.Tensor, cond_BD: torch.Tensor,
               attn_bias: Optional[torch.Tensor],
               caches: Optional[List['BlockCache']] = None) -> torch.Tensor:
    """Apply AdaLN blocks in order: x (B, L, C), cond (B, D) -> (B, L, C).

    ``caches`` (one :class:`BlockCache` per block) makes it a KV-cached sampling step.
    """
    for i, block in enumerate(blocks):
        x_BLC = block(x_BLC, cond_BD, attn_bias, None if caches is None else caches[i])
    return x_BLC


@functools.lru_cache(maxsize=1)
def compiled_run_blocks() -> Callable:
    """:func:`run_blocks` under ``torch.compile`` (dynamic shapes), built at first use.

    One compiled region spans all blocks, so blocks that differ only in their
    drop-path rate do not each cost a recompilation.
    """
    return torch.compile(run_blocks, dynamic=True)


class BlockCache:
    """Sampling state of one AdaLN block during KV-cached sampling (docs/method.md §5.1).

    The keys and values of every token so far, preallocated as (B, H, max_len,
    head_dim) and filled block by block (no step concatenates the history),
    and the block's AdaLN modulation ``ada_lin(cond)``, the same at every step.
    The buffers hold the attention dtype (:func:`attention_dtype`), so no step
    converts the history; should the first keys arrive in another dtype
    (autocast switched on after the allocation), they are re-allocated in it.
    """

    def __init__(self, batch_size: int, max_len: int, num_heads: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        shape = (batch_size, num_heads, max_len, head_dim)
        self.k = torch.empty(shape, dtype=dtype, device=device)
        self.v = torch.empty(shape, dtype=dtype, device=device)
        self.length = 0
        self.modulation: Optional[torch.Tensor] = None  # (B, 1, 6, C) once computed

    def append(self, k: torch.Tensor,
               v: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Store (B, H, l, hd) keys and values after the cached ones.

        Returns:
            tuple[Tensor, Tensor]: every key and value so far, (B, H, length, hd).
        """
        if self.length == 0 and self.k.dtype != k.dtype:
            self.k = torch.empty_like(self.k, dtype=k.dtype)
            self.v = torch.empty_like(self.v, dtype=k.dtype)
        end = self.length + k.shape[2]
        if end > self.k.shape[2]:
            raise ValueError(f'the KV cache holds {self.k.shape[2]} tokens; '
                             f'{self.length} are stored and {k.shape[2]} more were given')
        self.k[:, :, self.length:end] = k
        self.v[:, :, self.length:end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


class DropPath(nn.Module):
    """Stochastic depth per sample, active only in ``train()``."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask.div_(keep)

    def extra_repr(self) -> str:
        return f'drop_prob={self.drop_prob}'


class FFN(nn.Module):
    """``fc2(GELU_tanh(fc1(x)))`` with hidden size ``mlp_ratio * C``."""

    def __init__(self, embed_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.act = nn.GELU(approximate='tanh')
        self.fc2 = nn.Linear(hidden_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SelfAttention(nn.Module):
    """Multi-head self-attention with VAR's q/v bias and L2-normalised q, k.

    With ``attn_l2_norm``: ``q = normalize(q) * exp(min(scale_mul, ln 100))``,
    ``k = normalize(k)`` and the softmax scale is 1 (docs/method.md §7.2).
    Given a :class:`BlockCache`, a call is a KV-cached sampling step.
    """

    def __init__(self, embed_dim: int, num_heads: int, attn_l2_norm: bool = True,
                 attn_drop: float = 0.0) -> None:
        super().__init__()
        assert embed_dim % num_heads == 0
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.attn_l2_norm = attn_l2_norm
        self.attn_drop = attn_drop
        if attn_l2_norm:
            self.scale = 1.0
            self.scale_mul_1H11 = nn.Parameter(torch.full((1, num_heads, 1, 1), 4.0).log())
            self.max_scale_mul = math.log(100.0)
        else:
            self.scale = 0.25 / math.sqrt(self.head_dim)
        self.mat_qkv = nn.Linear(embed_dim, 3 * embed_dim, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(embed_dim))
        self.v_bias = nn.Parameter(torch.zeros(embed_dim))
        self.register_buffer('zero_k_bias', torch.zeros(embed_dim))
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor, attn_bias: Optional[torch.Tensor],
                cache: Optional[BlockCache] = None) -> torch.Tensor:
        """x: (B, L, C) -> (B, L, C).

        Args:
            attn_bias (Tensor, optional): additive (1, 1, L, L) mask.
            cache (BlockCache, optional): sampling cache; the queries then see
                every cached token and their own block, so no mask is taken.
        """
        if cache is not None and attn_bias is not None:
            raise ValueError('a KV-cached step sees every cached token and takes no attn_bias')
        B, L, C = x.shape
        bias = torch.cat((self.q_bias, self.zero_k_bias, self.v_bias))
        # heads by view/permute, not einops: rearrange adds ~6 us of host time per call
        # (16 blocks x every KV-cached sampling step), the same tensors
        qkv = F.linear(x, self.mat_qkv.weight, bias).view(B, L, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, L, hd)
        if self.attn_l2_norm:
            scale_mul = self.scale_mul_1H11.clamp_max(self.max_scale_mul).exp()
            q = F.normalize(q, dim=-1).mul(scale_mul)
            k = F.normalize(k, dim=-1)
        # one dtype for q, k, v, mask and cache: autocast's when it is on (SDPA
        # would cast its inputs to it anyway), else that of q
        dtype = attention_dtype(x.device.type, q.dtype)
        q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, cached + L, hd)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=None if attn_bias is None else attn_bias.to(dtype),
            dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale)
        out = out.transpose(1, 2).reshape(B, L, C)  # (B, L, C)
        return self.proj(out)


class AdaLNSelfAttn(nn.Module):
    """AdaLN transformer block (docs/method.md §7.1).

    ``(gamma1, gamma2, scale1, scale2, shift1, shift2) = ada_lin(cond)``;
    ``x += attn(LN(x)(1+scale1)+shift1) * gamma1``;
    ``x += ffn(LN(x)(1+scale2)+shift2) * gamma2``.

    During KV-cached sampling the condition is the same at every step, so the
    first step keeps ``ada_lin(cond)`` in the block's :class:`BlockCache`.
    """

    def __init__(self, embed_dim: int, cond_dim: int, num_heads: int, mlp_ratio: float = 4.0,
                 drop_path: float = 0.0, norm_eps: float = 1e-6,
                 attn_l2_norm: bool = True) -> None:
        super().__init__()
        self.C = embed_dim
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.attn = SelfAttention(embed_dim, num_heads, attn_l2_norm=attn_l2_norm)
        self.ffn = FFN(embed_dim, round(embed_dim * mlp_ratio))
        self.ln_wo_grad = nn.LayerNorm(embed_dim, eps=norm_eps, elementwise_affine=False)
        self.ada_lin = nn.Sequential(nn.SiLU(inplace=False), nn.Linear(cond_dim, 6 * embed_dim))

    def forward(self, x: torch.Tensor, cond_BD: torch.Tensor, attn_bias: Optional[torch.Tensor],
                cache: Optional[BlockCache] = None) -> torch.Tensor:
        """x: (B, L, C); cond_BD: (B, D) -> (B, L, C); ``cache`` as in :class:`SelfAttention`."""
        ada = None if cache is None else cache.modulation
        if ada is None:
            ada = self.ada_lin(cond_BD).view(-1, 1, 6, self.C)  # (B, 1, 6, C)
            if cache is not None:
                cache.modulation = ada
        gamma1, gamma2, scale1, scale2, shift1, shift2 = ada.unbind(2)
        h = self.ln_wo_grad(x).mul(scale1.add(1)).add_(shift1)
        x = x + self.drop_path(self.attn(h, attn_bias, cache).mul_(gamma1))
        h = self.ln_wo_grad(x).mul(scale2.add(1)).add_(shift2)
        x = x + self.drop_path(self.ffn(h).mul(gamma2))
        return x


class AdaLNBeforeHead(nn.Module):
    """Final AdaLN: ``LN(x)(1+scale)+shift`` with ``(scale, shift) = ada_lin(cond)``."""

    def __init__(self, embed_dim: int, cond_dim: int, norm_eps: float = 1e-6) -> None:
        super().__init__()
        self.C = embed_dim
        self.ln_wo_grad = nn.LayerNorm(embed_dim, eps=norm_eps, elementwise_affine=False)
        self.ada_lin = nn.Sequential(nn.SiLU(inplace=False), nn.Linear(cond_dim, 2 * embed_dim))

    def forward(self, x: torch.Tensor, cond_BD: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C); cond_BD: (B, D); returns (B, L, C)."""
        scale, shift = self.ada_lin(cond_BD).view(-1, 1, 2, self.C).unbind(2)
        return self.ln_wo_grad(x).mul(scale.add(1)).add_(shift)
