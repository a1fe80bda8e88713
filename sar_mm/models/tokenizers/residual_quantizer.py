"""VAR's multi-scale residual vector quantiser with partially shared φ convs.

Implements ``models/quant.py: VectorQuantizer2`` of VAR (docs/method.md
§7.8-7.10) for inference and teacher forcing:

* residual encoding over the scales ``patch_nums`` (side ``pn``, latent side
  ``H = patch_nums[-1]``): ``z = area(f_rest -> pn)`` (the last scale uses
  ``f_rest`` itself), nearest code by the plain squared L2 distance
  ``|z|^2 + |e|^2 - 2 z.e`` evaluated as in the official ``addmm`` order, then
  ``h = φ(bicubic(e -> H))`` (no resize at the last scale), ``f_hat += h`` and
  ``f_rest -= h``;
* ``φ(h) = (1 - r) h + r conv3x3(h)`` with ``r = quant_resi`` (0.5); scale ``si``
  of ``SN`` uses the φ whose tick is nearest to ``si / (SN - 1)``
  (:func:`phi_index_per_scale`).

Attribute names follow the official module (``embedding``,
``quant_resi.qresi_ls.N``) so checkpoints load with a prefix only.
"""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

__all__ = ['ResidualQuantizer', 'phi_index_per_scale', 'nearest_code_sqdist',
           'check_residual_schedule']


def phi_index_per_scale(num_scales: int, num_phi: int) -> List[int]:
    """Index of the shared φ conv used at each scale (docs/method.md §7.9).

    Ticks are ``linspace(1/(3K), 1 - 1/(3K), K)`` for ``K == 4`` and
    ``linspace(1/(2K), 1 - 1/(2K), K)`` otherwise; scale ``si`` takes
    ``argmin |ticks - si / (num_scales - 1)|``. The arithmetic is done in float64
    numpy exactly as VAR does, because exact mathematical ties (e.g. 10 scales,
    ``si = 2``) are decided by its rounding.

    Args:
        num_scales (int): number of scales ``SN`` (at least 2).
        num_phi (int): number of shared φ convs ``K`` (at least 1).

    Returns:
        list[int]: ``SN`` indices in ``[0, K)``.
    """
    if num_scales < 2:
        raise ValueError(f'a residual schedule needs at least 2 scales, got {num_scales}')
    if num_phi < 1:
        raise ValueError(f'num_phi must be >= 1, got {num_phi}')
    K = num_phi
    if K == 4:
        ticks = np.linspace(1 / 3 / K, 1 - 1 / 3 / K, K)
    else:
        ticks = np.linspace(1 / 2 / K, 1 - 1 / 2 / K, K)
    return [int(np.argmin(np.abs(ticks - si / (num_scales - 1)))) for si in range(num_scales)]


def nearest_code_sqdist(z_NC: torch.Tensor, codebook_VC: torch.Tensor) -> torch.Tensor:
    """Nearest codebook row by squared L2 distance, in VAR's arithmetic order.

    ``d = (|z|^2 + |e|^2)`` then ``d.addmm_(z, e^T, alpha=-2)``; the order matters
    for near-ties, so keep it (docs/method.md §7.8).

    Args:
        z_NC (Tensor): (N, C) vectors.
        codebook_VC (Tensor): (V, C) codebook.

    Returns:
        Tensor: (N,) int64 indices.
    """
    d_NV = z_NC.square().sum(dim=1, keepdim=True) + codebook_VC.square().sum(dim=1)  # (N, V)
    d_NV.addmm_(z_NC, codebook_VC.T, alpha=-2, beta=1)
    return d_NV.argmin(dim=1)


def check_residual_schedule(patch_nums: Sequence[int], latent_side: int) -> None:
    """Raise ``ValueError`` unless ``patch_nums`` is a residual schedule ending at the latent.

    The residual quantiser reconstructs the latent as a sum over scales, so the
    schedule must be strictly increasing, have at least two scales and end at
    the latent side.
    """
    pns = list(patch_nums)
    if len(pns) < 2:
        raise ValueError(f'VAR residual schedules need at least 2 scales, got {pns}')
    if pns[0] < 1 or any(b <= a for a, b in zip(pns, pns[1:])):
        raise ValueError(f'scale schedule must be strictly increasing positive sides, got {pns}')
    if pns[-1] != latent_side:
        raise ValueError(f'the last scale of a VAR schedule must equal the latent side '
                         f'{latent_side} (image side / downsample), got schedule {pns}')


class _Phi(nn.Conv2d):
    """``φ(h) = (1 - r) h + r conv3x3(h)``; keeps ``weight``/``bias`` of the conv."""

    def __init__(self, channels: int, resi_ratio: float) -> None:
        super().__init__(channels, channels, kernel_size=3, stride=1, padding=1)
        self.resi_ratio = abs(resi_ratio)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.mul(1 - self.resi_ratio) + super().forward(h).mul_(self.resi_ratio)


class _PhiPartiallyShared(nn.Module):
    """``K`` φ convs shared over the scales; keys ``qresi_ls.N.{weight,bias}``."""

    def __init__(self, channels: int, num_phi: int, resi_ratio: float) -> None:
        super().__init__()
        self.qresi_ls = nn.ModuleList([_Phi(channels, resi_ratio) for _ in range(num_phi)])


class ResidualQuantizer(nn.Module):
    """Multi-scale residual quantiser of VAR (docs/method.md §7.8-7.10).

    Args:
        vocab_size (int): codebook size ``V`` (4096).
        embed_dim (int): code dimension ``Cvae`` (32).
        share_quant_resi (int): number of shared φ convs (4 in the release; at least 2,
            the other official variants are not used by any release).
        quant_resi (float): φ mixing ratio ``r`` (0.5).
    """

    def __init__(self, vocab_size: int = 4096, embed_dim: int = 32, share_quant_resi: int = 4,
                 quant_resi: float = 0.5) -> None:
        super().__init__()
        if share_quant_resi < 2:
            raise ValueError('ResidualQuantizer implements the partially shared φ of the VAR '
                             f'releases (share_quant_resi >= 2), got {share_quant_resi}')
        if abs(quant_resi) <= 1e-6:
            raise ValueError(f'quant_resi must be non-zero, got {quant_resi}')
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.num_phi = share_quant_resi
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.quant_resi = _PhiPartiallyShared(embed_dim, share_quant_resi, quant_resi)

    def phi(self, h_BChw: torch.Tensor, si: int, num_scales: int) -> torch.Tensor:
        """Apply the φ conv of scale ``si`` of a ``num_scales`` schedule to (B, C, H, W)."""
        index = phi_index_per_scale(num_scales, self.num_phi)[si]
        return self.quant_resi.qresi_ls[index](h_BChw)

    def code_map(self, idx_Bl: torch.Tensor, pn: int) -> torch.Tensor:
        """Codebook vectors of a token map: (B, pn * pn) -> (B, C, pn, pn)."""
        B = idx_Bl.shape[0]
        return self.embedding(idx_Bl).transpose(1, 2).reshape(B, self.embed_dim, pn, pn)

    def scale_residual(self, idx_Bl: torch.Tensor, si: int,
                       patch_nums: Sequence[int]) -> torch.Tensor:
        """``φ(bicubic(e(idx) -> H))`` of scale ``si`` (no resize at the last scale).

        Returns:
            Tensor: (B, C, H, H) with ``H = patch_nums[-1]``.
        """
        H = patch_nums[-1]
        h_BChw = self.code_map(idx_Bl, patch_nums[si])  # (B, C, pn, pn)
        if si != len(patch_nums) - 1:
            h_BChw = F.interpolate(h_BChw, size=(H, H), mode='bicubic')  # (B, C, H, H)
        return self.phi(h_BChw.contiguous(), si, len(patch_nums))

    @torch.no_grad()
    def quantize_residual(self, f_rest: torch.Tensor, si: int,
                          patch_nums: Sequence[int]) -> torch.Tensor:
        """Tokens of scale ``si`` for a residual: nearest codes of ``area(f_rest -> pn_si)``.

        The step of :meth:`residual_encode` (no resize at the last scale); zero-shot
        editing repeats it on the residual of the tokens actually kept
        (:class:`~sar_mm.models.tokenizers.residual_known_tokens.ResidualKnownTokens`).

        Args:
            f_rest (Tensor): (B, C, H, H) what the scales before ``si`` left of the latent.
            si (int): scale index.
            patch_nums: the schedule, ending at ``H``.

        Returns:
            Tensor: (B, pn_si ** 2) int64.
        """
        B, C = f_rest.shape[:2]
        pn = patch_nums[si]
        if si != len(patch_nums) - 1:
            z_BChw = F.interpolate(f_rest, size=(pn, pn), mode='area')  # (B, C, pn, pn)
        else:
            z_BChw = f_rest
        z_NC = z_BChw.permute(0, 2, 3, 1).reshape(-1, C)  # (B * pn * pn, C)
        return nearest_code_sqdist(z_NC, self.embedding.weight).view(B, pn * pn)

    @torch.no_grad()
    def residual_encode(self, f_BChw: torch.Tensor,
                 patch_nums: Sequence[int]) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        """Residual multi-scale quantisation (``f_to_idxBl_or_fhat``).

        Args:
            f_BChw (Tensor): (B, C, H, H) latent after ``quant_conv``.
            patch_nums: schedule ending at ``H``.

        Returns:
            tuple: token maps, one (B, pn * pn) int64 per scale, and the cumulative
            ``f_hat`` after each scale, one (B, C, H, H) each.
        """
        H, W = f_BChw.shape[-2:]
        check_residual_schedule(patch_nums, H)
        if H != W:
            raise ValueError(f'VAR latents are square, got {H}x{W}')
        f_rest = f_BChw.detach().clone()
        f_hat = torch.zeros_like(f_rest)
        idx_list, fhat_list = [], []
        for si in range(len(patch_nums)):
            idx_Bl = self.quantize_residual(f_rest, si, patch_nums)
            h_BChw = self.scale_residual(idx_Bl, si, patch_nums)
            f_hat.add_(h_BChw)
            f_rest.sub_(h_BChw)
            idx_list.append(idx_Bl)
            fhat_list.append(f_hat.clone())
        return idx_list, fhat_list

    def idx_to_fhat(self, idx_list: Sequence[torch.Tensor],
                    patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Cumulative ``f_hat`` (B, C, H, H) after each given scale (``embed_to_fhat``)."""
        f_hat = None
        out = []
        for si, idx_Bl in enumerate(idx_list):
            h_BChw = self.scale_residual(idx_Bl, si, patch_nums)
            f_hat = h_BChw if f_hat is None else f_hat + h_BChw
            out.append(f_hat)
        return out

    def next_input(self, f_hat: torch.Tensor, si: int, patch_nums: Sequence[int]) -> torch.Tensor:
        """Input of scale ``si + 1``: ``area(f_hat -> pn_{si+1})`` flattened, (B, pn ** 2, C)."""
        pn_next = patch_nums[si + 1]
        x = F.interpolate(f_hat, size=(pn_next, pn_next), mode='area')  # (B, C, pn, pn)
        return rearrange(x, 'b c h w -> b (h w) c')  # (B, pn * pn, C)
