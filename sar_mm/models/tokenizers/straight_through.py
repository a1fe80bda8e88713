"""Training-time quantisation (straight-through estimator) of both tokenizer families.

The frozen tokenizers quantise without gradients (``latent_to_idx``); training a
tokenizer needs the codes in the codebook's graph and a straight-through path
to the encoder (van den Oord et al. 2017, section 3.2). Two quantisers:

* :func:`l2norm_quantize_straight_through`: ``FlexVQVAE`` (LlamaGen / FlexVAR
  ``VectorQuantizer`` with ``codebook_l2_norm=True``), one code map for the full
  latent;
* :func:`residual_quantize_straight_through`: VAR's ``MultiScaleVQVAE``
  (``models/quant.py: VectorQuantizer2.forward``), residual quantisation over
  the schedule with one codebook shared by every scale.

Both return a :class:`QuantizedLatent`, whose ``idx`` and ``vectors`` are what
the codebook-health hooks count and re-seed from: the vectors each code was
matched against, in the codebook's space (unit vectors for the L2-normalised
codebook, residuals for VAR).
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .l2norm_quantizer import L2NormQuantizer, nearest_code_l2norm
from .residual_quantizer import ResidualQuantizer, nearest_code_sqdist

__all__ = ['QuantizedLatent', 'l2norm_quantize_straight_through',
           'residual_quantize_straight_through', 'quantize_straight_through']


@dataclass
class QuantizedLatent:
    """One straight-through quantisation of a latent (B, C, h, w).

    Attributes:
        z_st (Tensor): (B, C, h, w) decoder input: value of the codes, gradient
            of ``z``.
        z (Tensor): (B, C, h, w) quantiser input (commitment term).
        z_q (Tensor): (B, C, h, w) the codes in the codebook's graph (codebook term).
        idx (list[Tensor]): one (B, pn * pn) int64 map per quantised scale.
        vectors (list[Tensor]): per scale, the detached float32 (B * pn * pn, C)
            vectors the codes were matched against.
    """
    z_st: torch.Tensor
    z: torch.Tensor
    z_q: torch.Tensor
    idx: List[torch.Tensor]
    vectors: List[torch.Tensor]


def l2norm_quantize_straight_through(
        latent: torch.Tensor,
        codebook: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantise against an L2-normalised codebook with the straight-through estimator.

    LlamaGen / FlexVAR ``VectorQuantizer`` with ``codebook_l2_norm=True``:
    ``z = normalize(latent)``, ``e = normalize(codebook)[argmin |z - e|]`` and
    the decoder input ``z + sg(e - z)``, whose value is ``e`` and whose
    gradient flows to ``z`` unchanged. The code search runs in float32 with
    autocast off.

    Args:
        latent (Tensor): (B, C, h, w) encoder output after ``quant_conv``.
        codebook (Tensor): (V, C) unnormalised codebook weights.

    Returns:
        tuple: ``z_st`` (B, C, h, w) straight-through codes (decoder input),
        ``z`` (B, C, h, w) normalised latent, ``z_q`` (B, C, h, w) selected
        normalised codes (in the codebook's graph), ``idx`` (B, h * w) int64.
    """
    B, C, h, w = latent.shape
    with torch.autocast(latent.device.type, enabled=False):
        z = F.normalize(latent.float(), p=2, dim=1)  # (B, C, h, w)
        z_NC = z.permute(0, 2, 3, 1).reshape(B * h * w, C)  # (B*h*w, C), row-major cells
        idx = nearest_code_l2norm(z_NC.detach(), codebook.detach().float())  # (B*h*w,)
        codes = F.normalize(codebook.float(), p=2, dim=-1)[idx]  # (B*h*w, C)
        z_q = codes.view(B, h, w, C).permute(0, 3, 1, 2)  # (B, C, h, w)
        z_st = z + (z_q - z).detach()
    return z_st, z, z_q, idx.view(B, h * w)


def residual_quantize_straight_through(latent: torch.Tensor, quantizer: ResidualQuantizer,
                                       patch_nums: Sequence[int]) -> QuantizedLatent:
    """VAR's residual multi-scale quantisation with the straight-through estimator.

    ``VectorQuantizer2.forward`` (VAR, Tian et al. 2024, Alg. 1): at scale ``si``
    the code of ``area(f_rest -> pn)`` (the last scale: ``f_rest`` itself) is
    the nearest codebook row in squared L2 distance, ``h = φ(bicubic(e -> H))``
    is added to ``f_hat`` and subtracted from ``f_rest``. ``z_q`` is the final
    ``f_hat`` (gradient to the codebook and the φ convs) and the decoder input
    is ``f + sg(f_hat - f)``. VAR averages its codebook and commitment terms over
    the cumulative ``f_hat`` of every scale; here they are taken on the final
    ``f_hat`` only. Runs in float32 with autocast off.

    Args:
        latent (Tensor): (B, C, H, H) encoder output after ``quant_conv``.
        quantizer (ResidualQuantizer): the tokenizer's quantiser.
        patch_nums: the schedule, ending at ``H``.

    Returns:
        QuantizedLatent: one index map and one set of residual vectors per scale.
    """
    B, C, H, _ = latent.shape
    SN = len(patch_nums)
    with torch.autocast(latent.device.type, enabled=False):
        f = latent.float()
        f_rest = f.detach().clone()
        f_hat = torch.zeros_like(f_rest)
        codebook = quantizer.embedding.weight.detach()
        idx_list, vectors = [], []
        for si, pn in enumerate(patch_nums):
            z_BChw = F.interpolate(f_rest, size=(pn, pn), mode='area') if si != SN - 1 else f_rest
            z_NC = z_BChw.permute(0, 2, 3, 1).reshape(-1, C)  # (B * pn * pn, C)
            idx_Bl = nearest_code_sqdist(z_NC, codebook).view(B, pn * pn)
            h_BChw = quantizer.scale_residual(idx_Bl, si, patch_nums)  # (B, C, H, H), in graph
            f_hat = f_hat + h_BChw
            f_rest = f_rest - h_BChw.detach()
            idx_list.append(idx_Bl)
            vectors.append(z_NC)
        z_st = f + (f_hat - f).detach()
    return QuantizedLatent(z_st=z_st, z=f, z_q=f_hat, idx=idx_list, vectors=vectors)


def quantize_straight_through(quantizer: nn.Module, latent: torch.Tensor,
                              patch_nums: Sequence[int]) -> QuantizedLatent:
    """Straight-through quantisation by the tokenizer family of ``quantizer``.

    Args:
        quantizer: ``L2NormQuantizer`` (``FlexVQVAE``: the full latent, one
            scale; ``patch_nums`` unused) or ``ResidualQuantizer``
            (``MultiScaleVQVAE``: residual over ``patch_nums``).
        latent (Tensor): (B, C, h, w) encoder output after ``quant_conv``.
        patch_nums: the residual schedule.
    """
    if isinstance(quantizer, ResidualQuantizer):
        return residual_quantize_straight_through(latent, quantizer, patch_nums)
    if isinstance(quantizer, L2NormQuantizer):
        z_st, z, z_q, idx = l2norm_quantize_straight_through(latent, quantizer.embedding.weight)
        C = z.shape[1]
        return QuantizedLatent(z_st=z_st, z=z, z_q=z_q, idx=[idx],
                               vectors=[z.detach().permute(0, 2, 3, 1).reshape(-1, C)])
    raise TypeError(f'no training quantisation for {type(quantizer).__name__}; expected '
                    'L2NormQuantizer (FlexVQVAE) or ResidualQuantizer (MultiScaleVQVAE)')
