"""Known tokens of zero-shot image-to-image sampling (docs/method.md §5.4).

In-painting, out-painting, class-conditional editing and refinement all run
the ordinary next-scale sampler with one change: after the tokens of a scale
are drawn, every cell outside the region to regenerate takes the token of the
input image at that scale instead (teacher forcing of the known region). The
drawn tokens are computed exactly as in ordinary sampling, so the random
streams advance alike whatever the mask.

:class:`KnownTokens` holds token maps computed up front from the input alone:
right for FlexVAR, whose maps are independent per scale. VAR's residual
tokenizer needs the kept tokens computed during sampling, from what the
tokens actually used leave of the latent
(:class:`~sar_mm.models.tokenizers.residual_known_tokens.ResidualKnownTokens`);
its up-front maps are what VAR's ``demo_zero_shot_edit.ipynb`` keeps. Both
classes offer ``check``, ``merge`` and ``rows``; ``merge`` threads a carry
through the scales (``None`` here).

Resampling a pixel mask to a scale's grid (:func:`regenerate_per_scale`),
rule ``'any_pixel'``: a token is regenerated when **any** pixel that feeds it
is masked. The tokenizers compute the token of a cell of scale ``pn`` from the
area resize of the latent (VAR ``f_rest``, FlexVAR the latent itself), i.e.
the average of the latent cells that overlap it; a latent cell covers
``downsample x downsample`` pixels. The rule follows that path: a latent cell
is masked when one of its pixels is, and a token when one of the latent cells
of its area window is (the window bounds of ``adaptive_max_pool2d`` are those
of the area resize). No token computed from a masked cell is kept, at the
price of regenerating a slightly larger region; coarse scales are therefore
regenerated almost entirely, which lets the model lay out the new content
consistently with what it keeps. The encoder's receptive field reaches a few
latent cells beyond each cell's pixels; that spill-over is not counted. With
up-front maps this keeps the masked region out of FlexVAR's kept tokens; VAR's
kept cells also depend on the coarse scales regenerated before them, which is
what ``ResidualKnownTokens`` accounts for.

Rule ``'var_notebook'`` (VAR ``demo_zero_shot_edit.ipynb``,
``replace_embedding``): the keep mask on the latent grid (a cell is kept when
none of its pixels is masked) is resized bilinearly to each scale and
thresholded at 0.5; the 1 x 1 scale is always kept (the notebook keeps every
scale of at most 3 tokens).
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F

__all__ = ['KnownTokens', 'regenerate_per_scale', 'MASK_RULES']

#: Rules of :func:`regenerate_per_scale` (module docstring).
MASK_RULES = ('any_pixel', 'var_notebook')


@dataclass
class KnownTokens:
    """Token maps to keep while sampling, computed up front, and where to sample instead.

    Attributes:
        idx_per_scale (list[Tensor]): one (B, pn ** 2) int64 map per scale of the
            schedule: the input image's tokens.
        regenerate_per_scale (list[Tensor]): one (B, pn ** 2) bool map per
            scale; True = use the drawn token, False = keep ``idx_per_scale``.
    """

    idx_per_scale: List[torch.Tensor]
    regenerate_per_scale: List[torch.Tensor]

    def check(self, batch_size: int, patch_nums: Sequence[int]) -> None:
        """Raise ``ValueError`` unless both lists fit a batch and a schedule."""
        pns = [int(pn) for pn in patch_nums]
        for name, maps, dtype in (('idx_per_scale', self.idx_per_scale, torch.int64),
                                  ('regenerate_per_scale', self.regenerate_per_scale,
                                   torch.bool)):
            if len(maps) != len(pns):
                raise ValueError(f'known tokens: {name} has {len(maps)} scales, the schedule '
                                 f'{pns} has {len(pns)}')
            for pn, m in zip(pns, maps):
                if tuple(m.shape) != (batch_size, pn * pn) or m.dtype != dtype:
                    raise ValueError(f'known tokens: {name} at scale {pn} must be '
                                     f'({batch_size}, {pn * pn}) {dtype}, got '
                                     f'{tuple(m.shape)} {m.dtype}')

    def merge(self, si: int, drawn: torch.Tensor, patch_nums: Sequence[int],
              carry: None) -> Tuple[torch.Tensor, None]:
        """Tokens of scale ``si``: (B, pn ** 2) ``where(regenerate, drawn, known)``.

        ``patch_nums`` and ``carry`` (always ``None``) are unused: the maps are fixed.
        """
        return torch.where(self.regenerate_per_scale[si], drawn, self.idx_per_scale[si]), None

    def rows(self, index: slice) -> 'KnownTokens':
        """The known tokens of the rows ``index`` of the batch."""
        return KnownTokens([m[index] for m in self.idx_per_scale],
                           [m[index] for m in self.regenerate_per_scale])


def regenerate_per_scale(masks: torch.Tensor, patch_nums: Sequence[int], downsample: int,
                         keep_scales: int = 0, rule: str = 'any_pixel') -> List[torch.Tensor]:
    """Resample pixel masks to every scale's token grid (rules: module docstring).

    Args:
        masks (Tensor): (B, H, W) bool, True = regenerate; ``H == W ==
            patch_nums[-1] * downsample``.
        patch_nums: the schedule.
        downsample (int): image pixels per latent cell of the tokenizer.
        keep_scales (int): the first ``keep_scales`` scales keep every token of
            the input (refinement); ``len(patch_nums)`` keeps them all.
        rule (str): one of :data:`MASK_RULES`.

    Returns:
        list[Tensor]: one (B, pn ** 2) bool map per scale, row-major.
    """
    pns = [int(pn) for pn in patch_nums]
    if rule not in MASK_RULES:
        raise ValueError(f'rule must be one of {MASK_RULES}, got {rule!r}')
    if masks.dtype != torch.bool or masks.dim() != 3:
        raise ValueError(f'masks must be (B, H, W) bool, got {tuple(masks.shape)} {masks.dtype}')
    side = pns[-1] * downsample
    if tuple(masks.shape[1:]) != (side, side):
        raise ValueError(f'masks of {masks.shape[1]}x{masks.shape[2]} px do not fit the schedule '
                         f'{pns}: its last scale {pns[-1]} x downsample {downsample} needs '
                         f'{side}x{side} px')
    if not 0 <= keep_scales <= len(pns):
        raise ValueError(f'keep_scales must be in [0, {len(pns)}] (the schedule {pns} has '
                         f'{len(pns)} scales), got {keep_scales}')
    B = masks.shape[0]
    latent = F.max_pool2d(masks[:, None].float(), kernel_size=downsample)  # (B, 1, h, h)
    out = []
    for si, pn in enumerate(pns):
        if si < keep_scales or (rule == 'var_notebook' and pn * pn <= 3):
            out.append(torch.zeros(B, pn * pn, dtype=torch.bool, device=masks.device))
        elif rule == 'any_pixel':
            grid = F.adaptive_max_pool2d(latent, pn)  # (B, 1, pn, pn)
            out.append(grid.view(B, pn * pn) > 0)
        else:
            keep = F.interpolate(1 - latent, size=(pn, pn), mode='bilinear',
                                 align_corners=False)  # (B, 1, pn, pn)
            out.append(keep.view(B, pn * pn) <= 0.5)
    return out
