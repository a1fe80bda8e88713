"""Pure functions for sampling tokens from next-scale logits.

Implements the sampler of VAR/FlexVAR (``models/helpers.py:
sample_with_top_k_top_p_``) without its in-place mutation of the logits
(docs/method.md §5.3 and §7.25). Guidance lives in
:class:`~sar_mm.models.utils.cfg_schedule.CFGSchedule`.
"""
import math
from typing import Sequence, Union

import torch

__all__ = ['top_k_top_p_filter', 'sample_from_logits', 'greedy_from_logits']


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 0.0) -> torch.Tensor:
    """Mask logits outside the top-k and outside the nucleus with ``-inf``.

    Same rule as the official sampler, but the input is left untouched:

    * top-k (``top_k > 0``): drop every logit strictly below the k-th largest
      (ties with the k-th largest are kept);
    * top-p (``top_p > 0``): sort ascending, drop the low tail whose cumulative
      softmax mass is ``<= 1 - top_p``; the largest logit is always kept.

    The comparisons run in the dtype of ``logits``; the softmax mass of top-p
    is float32, as CUDA autocast computes the official ``softmax`` of half
    logits (a CPU autocast would keep it in half precision).

    Args:
        logits (Tensor): (..., V) logits.
        top_k (int): number of logits kept, ``0`` disables.
        top_p (float): nucleus mass, ``0`` disables.

    Returns:
        Tensor: (..., V) a new tensor, dtype of ``logits``, with the removed
        entries set to ``-inf``.
    """
    out = logits.clone()
    if top_k > 0:
        kth = out.topk(min(top_k, out.shape[-1]), dim=-1, largest=True, sorted=False)[0]
        out = out.masked_fill(out < kth.amin(dim=-1, keepdim=True), -math.inf)
    if top_p > 0:
        sorted_logits, sorted_idx = out.sort(dim=-1, descending=False)
        remove_sorted = sorted_logits.float().softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)
        remove_sorted[..., -1:] = False
        remove = remove_sorted.scatter(sorted_idx.ndim - 1, sorted_idx, remove_sorted)
        out = out.masked_fill(remove, -math.inf)
    return out


def sample_from_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 0.0,
                       generator: Union[None, torch.Generator, Sequence[torch.Generator]] = None
                       ) -> torch.Tensor:
    """Draw one token per position after top-k / top-p filtering.

    The draw is ``torch.multinomial(softmax(filtered), 1, replacement=True,
    generator=generator)`` as in the official sampler, so with the same generator
    state the same tokens come out. ``top_k=1`` is deterministic (only the
    maximum survives, ties aside) but still advances the generator. The filter
    runs in the dtype of ``logits``, the softmax in float32 (what CUDA autocast
    does with the official sampler's half-precision logits).

    Args:
        logits (Tensor): (B, l, V) logits, any float dtype; not modified.
        top_k (int): see :func:`top_k_top_p_filter`.
        top_p (float): see :func:`top_k_top_p_filter`.
        generator: one ``torch.Generator`` (on the device of ``logits``) for the
            whole batch, or a sequence of ``B`` generators, one per row: row ``b``
            then draws exactly what a batch of that row alone would draw with
            ``generator[b]``.

    Returns:
        Tensor: (B, l) int64 token indices.
    """
    B, l, V = logits.shape
    probs = top_k_top_p_filter(logits, top_k, top_p).float().softmax(dim=-1)  # (B, l, V) fp32
    if generator is None or isinstance(generator, torch.Generator):
        idx = torch.multinomial(probs.view(-1, V), num_samples=1, replacement=True,
                                generator=generator)  # (B*l, 1)
        return idx.view(B, l)  # (B, l)
    if len(generator) != B:
        raise ValueError(f'got {len(generator)} generators for a batch of {B}')
    rows = [torch.multinomial(probs[b], num_samples=1, replacement=True, generator=g)
            for b, g in enumerate(generator)]  # each (l, 1)
    return torch.cat(rows, dim=1).t()  # (B, l)


def greedy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Arg-max token per position; consumes no randomness.

    Args:
        logits (Tensor): (B, l, V).

    Returns:
        Tensor: (B, l) int64 token indices.
    """
    return logits.argmax(dim=-1)
