"""Block-causal attention over a scale schedule, one SDPA call per large scale.

Next-scale prediction attends block-causally: a token of scale ``i`` sees every
token of scales ``<= i`` (VAR section 3.2). As one masked call, the attention
kernel visits all ``L x L`` query/key pairs (680^2 = 462,400 for the 10-scale
256 px schedule) although only 286,434 are allowed, and the additive mask slows
the kernel further. Here the queries of every large scale attend, without a
mask, to the keys of its prefix; the small leading scales, where one call per
scale would cost more in overhead than it saves, run together as one masked
call. The result is the masked attention up to float rounding (softmax over the
same keys, only summed in another order).
"""
import math
from dataclasses import dataclass
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ['block_causal_bias', 'BlockCausalMask']


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


@dataclass(frozen=True)
class BlockCausalMask:
    """Block-causal attention of one schedule, in the form the kernels run it.

    Attributes:
        prefix_bias (Tensor): (1, 1, P, P) additive mask of the leading blocks
            that run as one masked call (``P`` tokens; 0 allowed, -inf not).
        blocks (tuple of (int, int)): query ranges ``[start, end)`` after the
            prefix; each attends to keys ``[0, end)`` without a mask.
    """

    prefix_bias: torch.Tensor
    blocks: Tuple[Tuple[int, int], ...]

    @classmethod
    def from_block_sizes(cls, block_sizes: Sequence[int], min_split_tokens: int = 64,
                         device: torch.device = torch.device('cpu'),
                         dtype: torch.dtype = torch.float32) -> 'BlockCausalMask':
        """Split a schedule: blocks before the first one of ``min_split_tokens``
        tokens or more form the masked prefix; every later block is its own call.

        Args:
            block_sizes: tokens per block, e.g. ``[pn ** 2 for pn in patch_nums]``.
            min_split_tokens (int): smallest block that gets its own call (64:
                measured on CPU for the 10-scale schedule, see docs/benchmarks.md).
        """
        sizes = [int(n) for n in block_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError(f'block sizes must be positive, got {list(block_sizes)}')
        first_split = next((i for i, n in enumerate(sizes) if n >= min_split_tokens), len(sizes))
        first_split = max(first_split, 1)  # the prefix holds at least the first block
        prefix = block_causal_bias(sizes[:first_split]).to(device=device, dtype=dtype)
        blocks, end = [], sum(sizes[:first_split])
        for n in sizes[first_split:]:
            blocks.append((end, end + n))
            end += n
        return cls(prefix_bias=prefix, blocks=tuple(blocks))

    @property
    def num_tokens(self) -> int:
        """``L``, the length of the sequence the mask covers."""
        return self.blocks[-1][1] if self.blocks else self.prefix_bias.shape[-1]

    @property
    def num_pairs(self) -> int:
        """(query, key) pairs the kernel calls compute: ``P^2 + sum n_k end_k``."""
        P = self.prefix_bias.shape[-1]
        return P * P + sum((end - start) * end for start, end in self.blocks)

    def dense(self) -> torch.Tensor:
        """The equivalent additive (1, 1, L, L) mask (for checks and other kernels)."""
        P, L = self.prefix_bias.shape[-1], self.num_tokens
        bias = torch.full((1, 1, L, L), -math.inf, dtype=self.prefix_bias.dtype,
                          device=self.prefix_bias.device)
        bias[:, :, :P, :P] = self.prefix_bias
        for start, end in self.blocks:
            bias[:, :, start:end, :end] = 0
        return bias

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dropout_p: float,
               scale: float) -> torch.Tensor:
        """Block-causal SDPA: q, k, v (B, H, L, hd) -> (B, H, L, hd)."""
        if q.shape[-2] != self.num_tokens:
            raise ValueError(f'the mask covers {self.num_tokens} tokens, got {q.shape[-2]}')
        P = self.prefix_bias.shape[-1]
        outs = [F.scaled_dot_product_attention(
            q[:, :, :P], k[:, :, :P], v[:, :, :P], attn_mask=self.prefix_bias.to(q.dtype),
            dropout_p=dropout_p, scale=scale)]
        outs += [F.scaled_dot_product_attention(q[:, :, start:end], k[:, :, :end], v[:, :, :end],
                                                dropout_p=dropout_p, scale=scale)
                 for start, end in self.blocks]
        return torch.cat(outs, dim=2)
