"""FlexVAR's next-scale transformer, for any scale schedule.

FlexVAR ``models/flexvar.py`` with SAR's student-forcing forward (docs/method.md
§2.4, §4.5, §5 and §7.1-7.7, §7.17-7.21) on the shared body of
:class:`~sar_mm.models.backbones.base_backbone.BaseScaleTransformer`: AdaLN
blocks shared with VAR, no level embedding, logits in the compute dtype
(§7.20), and a learnable (1, C, G, G) sin/cos position grid that is
area-resampled to every scale of the schedule of the current call.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from sar_mm.registry import BACKBONES
from .base_backbone import BaseScaleTransformer

__all__ = ['FlexVARTransformer']


def sincos_position_grid(grid_size: int, dim: int) -> torch.Tensor:
    """FlexVAR's initial position table (docs/method.md §7.17; additive, not RoPE).

    ``pe[i, j, 0::2] = sin(i * div)``, ``pe[i, j, 1::2] = cos(j * div)`` with
    ``div = exp(arange(0, dim, 2) * (-ln 10000 / dim))``.

    Returns:
        Tensor: (1, dim, grid_size, grid_size).
    """
    if dim % 2:
        raise ValueError(f'the position grid needs an even width, got {dim}')
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    coords = torch.arange(grid_size, dtype=torch.float32)
    table = torch.zeros(grid_size, grid_size, dim)
    table[:, :, 0::2] = torch.sin(coords[:, None, None] * div)  # rows: (G, 1, dim/2)
    table[:, :, 1::2] = torch.cos(coords[None, :, None] * div)  # cols: (1, G, dim/2)
    return rearrange(table, 'h w c -> 1 c h w')  # (1, dim, G, G)


@BACKBONES.register_module()
class FlexVARTransformer(BaseScaleTransformer):
    """FlexVAR transformer: width ``64 * depth``, ``depth`` heads of size 64.

    ``pos_1LC`` keeps its sin/cos table at init (:meth:`init_weights` does not
    redraw it, docs/method.md §7.17).

    Args:
        depth (int): number of AdaLN blocks; sets width and heads.
        vocab_size (int): codebook size ``V``.
        pos_grid_size (int): side of the learnable position grid; the largest
            scale a schedule may use.
        init_adaln_gamma (float, optional): init multiplier of the AdaLN gamma
            rows; ``None`` means 1e-3 below depth 24 and 1e-4 from depth 24 on
            (the ``alng`` of the release scripts).
        **kwargs: the other arguments of
            :class:`~sar_mm.models.backbones.base_backbone.BaseScaleTransformer`.
    """

    def __init__(self, depth: int = 16, vocab_size: int = 8912, pos_grid_size: int = 32,
                 init_adaln_gamma: Optional[float] = None, **kwargs) -> None:
        if init_adaln_gamma is None:
            init_adaln_gamma = 1e-3 if depth < 24 else 1e-4
        grid = nn.Parameter(sincos_position_grid(pos_grid_size, 64 * depth))
        super().__init__(depth, vocab_size, dict(pos_1LC=grid),
                         init_adaln_gamma=init_adaln_gamma, **kwargs)
        self.pos_grid_size = pos_grid_size

    def check_schedule(self, patch_nums: Sequence[int]) -> Tuple[int, ...]:
        pns = super().check_schedule(patch_nums)
        bad = [pn for pn in pns if pn < 1 or pn > self.pos_grid_size]
        if bad:
            raise ValueError(f'scales {bad} of the schedule {list(patch_nums)} are outside '
                             f'[1, pos_grid_size={self.pos_grid_size}]')
        return pns

    def scale_positions(self, patch_nums: Tuple[int, ...], si: int) -> torch.Tensor:
        """``area(pos_1LC -> pn x pn)``, row-major, ``pn = patch_nums[si]`` (§7.17).

        Returns:
            Tensor: (1, pn * pn, C).
        """
        pn = int(patch_nums[si])
        pos = F.interpolate(self.pos_1LC, size=(pn, pn), mode='area')  # (1, C, pn, pn)
        return rearrange(pos, '1 c h w -> 1 (h w) c')  # (1, pn*pn, C)
