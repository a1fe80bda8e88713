"""Known tokens of zero-shot editing for VAR's residual tokenizer (docs/method.md §5.4).

The input's token at scale ``k`` encodes ``f - f_hat_{k-1}``, what its own
coarser scales left of the latent ``f``. When an edit regenerates part of the
coarse scales, keeping those tokens decodes the kept region to
``f + Σ_j (regenerated - input's coarse residuals)``: the removed content's low
frequencies leak into it. Here the kept tokens are computed while sampling,
from the residual of the tokens actually used: at scale ``k`` the kept cells
take the nearest codes of ``area(f - f_hat -> pn_k)``, ``f_hat`` accumulated
from the merged (kept + regenerated) maps of the scales before, so every scale
corrects what the previous ones changed and the kept region converges to the
input's reconstruction. This repeats
:meth:`~sar_mm.models.tokenizers.residual_quantizer.ResidualQuantizer.residual_encode`
step by step on its carry ``f_rest = f - f_hat``, in float32 with autocast and
TF32 off whatever the sampling precision (the sampler's own ``f_hat`` follows
it): where nothing is regenerated, the tokens are the input's own, bit for bit.
FlexVAR's independent maps need none of this
(:class:`~sar_mm.models.utils.known_tokens.KnownTokens`).
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch

from sar_mm.utils.precision import allow_tf32
from .residual_quantizer import ResidualQuantizer

__all__ = ['ResidualKnownTokens']


@dataclass
class ResidualKnownTokens:
    """The input's latent, and where to sample instead of keeping its tokens.

    Attributes:
        latent (Tensor): (B, Cvae, H, H) float32, the input's latent
            (``quant_conv(encoder(img))``), ``H`` the last scale.
        regenerate_per_scale (list[Tensor]): one (B, pn ** 2) bool map per
            scale; True = use the drawn token, False = keep the input's.
        quantizer (ResidualQuantizer): the tokenizer's residual quantiser.
    """

    latent: torch.Tensor
    regenerate_per_scale: List[torch.Tensor]
    quantizer: ResidualQuantizer

    def check(self, batch_size: int, patch_nums: Sequence[int]) -> None:
        """Raise ``ValueError`` unless the latent and the maps fit a batch and a schedule."""
        pns = [int(pn) for pn in patch_nums]
        expected = (batch_size, self.quantizer.embed_dim, pns[-1], pns[-1])
        if tuple(self.latent.shape) != expected:
            raise ValueError(f'known tokens: the latent must be {expected} for the schedule '
                             f'{pns}, got {tuple(self.latent.shape)}')
        if len(self.regenerate_per_scale) != len(pns):
            raise ValueError(f'known tokens: regenerate_per_scale has '
                             f'{len(self.regenerate_per_scale)} scales, the schedule {pns} has '
                             f'{len(pns)}')
        for pn, m in zip(pns, self.regenerate_per_scale):
            if tuple(m.shape) != (batch_size, pn * pn) or m.dtype != torch.bool:
                raise ValueError(f'known tokens: regenerate_per_scale at scale {pn} must be '
                                 f'({batch_size}, {pn * pn}) torch.bool, got {tuple(m.shape)} '
                                 f'{m.dtype}')

    def merge(self, si: int, drawn: torch.Tensor, patch_nums: Sequence[int],
              carry: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Tokens of scale ``si`` and the carry of the next scale.

        Args:
            si (int): scale index.
            drawn (Tensor): (B, pn ** 2) tokens drawn at scale ``si``.
            patch_nums: the schedule.
            carry (Tensor | None): ``f_rest`` (B, Cvae, H, H) left by the merged
                scales before ``si``; ``None`` at ``si == 0`` (the latent).

        Returns:
            tuple: (B, pn ** 2) ``where(regenerate, drawn, kept)`` and ``f_rest``
            after it.
        """
        f_rest = self.latent if carry is None else carry
        with torch.autocast(f_rest.device.type, enabled=False), allow_tf32(False):
            kept = self.quantizer.quantize_residual(f_rest, si, patch_nums)
            merged = torch.where(self.regenerate_per_scale[si], drawn, kept)
            f_rest = f_rest - self.quantizer.scale_residual(merged, si, patch_nums)
        return merged, f_rest

    def rows(self, index: slice) -> 'ResidualKnownTokens':
        """The known tokens of the rows ``index`` of the batch."""
        return ResidualKnownTokens(self.latent[index],
                                   [m[index] for m in self.regenerate_per_scale],
                                   self.quantizer)
