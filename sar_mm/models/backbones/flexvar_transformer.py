"""FlexVAR's next-scale transformer, for any scale schedule.

FlexVAR ``models/flexvar.py`` with SAR's student-forcing forward (docs/method.md
§2.4, §4.5, §5 and §7.1-7.7, §7.17-7.21): AdaLN blocks shared with
VAR, no level embedding, and a learnable (1, C, G, G) sin/cos position grid that
is area-resampled to every scale of the schedule of the current call. The
block-causal mask depends on the schedule; it is built on demand and kept in a
small in-memory cache, never in the state dict.
"""
import math
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from sar_mm.registry import BACKBONES
from .base_backbone import BaseScaleTransformer
from .layers import (AdaLNBeforeHead, AdaLNSelfAttn, attention_dtype, block_causal_bias,
                     compiled_run_blocks, run_blocks)

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
    return table.permute(2, 0, 1).unsqueeze(0)  # (1, dim, G, G)


@BACKBONES.register_module()
class FlexVARTransformer(BaseScaleTransformer):
    """FlexVAR transformer: width ``64 * depth``, ``depth`` heads of size 64.

    Args:
        depth (int): number of AdaLN blocks; sets width and heads.
        num_classes (int): class count; id ``num_classes`` is unconditional.
        vocab_size (int): codebook size ``V``.
        cvae (int): code dimension of the tokenizer.
        mlp_ratio (float): FFN hidden size over width.
        drop_path_rate (float, optional): largest stochastic-depth rate (linear
            over blocks); ``None`` means ``0.1 * depth / 24``.
        cond_drop_rate (float): label dropout for CFG training (train mode only).
        attn_l2_norm (bool): L2-normalised q/k attention with a learned scale.
        norm_eps (float): LayerNorm epsilon.
        pos_grid_size (int): side of the learnable position grid; the largest
            scale a schedule may use.
        init_adaln (float): init multiplier of the non-gamma AdaLN rows.
        init_adaln_gamma (float, optional): init multiplier of the AdaLN gamma
            rows; ``None`` means 1e-3 below depth 24 and 1e-4 from depth 24 on
            (the ``alng`` of the release scripts).
        init_head (float): init multiplier of the classifier head.
        mask_cache_size (int): number of schedules whose masks are kept.
        compile_blocks (bool): run the blocks through ``torch.compile``
            (:func:`~sar_mm.models.backbones.layers.compiled_run_blocks`) in
            training and sampling; off by default (see ``docs/benchmarks.md``
            for where it pays off).
    """

    def __init__(self,
                 depth: int = 16,
                 num_classes: int = 1000,
                 vocab_size: int = 8912,
                 cvae: int = 32,
                 mlp_ratio: float = 4.0,
                 drop_path_rate: Optional[float] = None,
                 cond_drop_rate: float = 0.1,
                 attn_l2_norm: bool = True,
                 norm_eps: float = 1e-6,
                 pos_grid_size: int = 32,
                 init_adaln: float = 0.5,
                 init_adaln_gamma: Optional[float] = None,
                 init_head: float = 0.02,
                 mask_cache_size: int = 16,
                 compile_blocks: bool = False) -> None:
        super().__init__()
        self.compile_blocks = compile_blocks
        self.depth = depth
        self.embed_dim = C = 64 * depth
        self.num_heads = depth
        self.num_classes = num_classes
        self.vocab_size = vocab_size
        self.cvae = cvae
        self.cond_drop_rate = cond_drop_rate
        self.pos_grid_size = pos_grid_size
        self.drop_path_rate = 0.1 * depth / 24 if drop_path_rate is None else drop_path_rate
        self.init_adaln = init_adaln
        self.init_adaln_gamma = ((1e-3 if depth < 24 else 1e-4)
                                 if init_adaln_gamma is None else init_adaln_gamma)
        self.init_head = init_head

        self.word_embed = nn.Linear(cvae, C)
        self.class_emb = nn.Embedding(num_classes + 1, C)
        self.pos_start = nn.Parameter(torch.empty(1, 1, C))
        self.pos_1LC = nn.Parameter(sincos_position_grid(pos_grid_size, C))
        dpr = torch.linspace(0, self.drop_path_rate, depth, device='cpu').tolist()
        self.blocks = nn.ModuleList([
            AdaLNSelfAttn(C, C, self.num_heads, mlp_ratio=mlp_ratio, drop_path=dpr[i],
                          norm_eps=norm_eps, attn_l2_norm=attn_l2_norm) for i in range(depth)
        ])
        self.head_nm = AdaLNBeforeHead(C, C, norm_eps=norm_eps)
        self.head = nn.Linear(C, vocab_size)

        self.mask_cache_size = mask_cache_size
        self._mask_cache: 'OrderedDict[Tuple, torch.Tensor]' = OrderedDict()
        self.init_weights()

    # --- initialisation -------------------------------------------------------------------
    def init_weights(self) -> None:
        """Official init (docs/method.md §4.5, §7.6).

        Linear and embedding weights ~ trunc_normal(std = sqrt(1 / (3C))), biases 0;
        ``pos_start`` likewise; the head x ``init_head``; ``head_nm.ada_lin`` x
        ``init_adaln``; per block ``proj`` and ``fc2`` / sqrt(2 depth), ``ada_lin``
        gamma rows ``[:2C]`` x ``init_adaln_gamma`` and the other rows x
        ``init_adaln``. ``pos_1LC`` keeps its sin/cos table and ``scale_mul``
        its ln 4.
        """
        C = self.embed_dim
        std = math.sqrt(1 / C / 3)
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, (nn.Linear, nn.Embedding)):
                    nn.init.trunc_normal_(m.weight, std=std)
                    if isinstance(m, nn.Linear) and m.bias is not None:
                        m.bias.zero_()
            nn.init.trunc_normal_(self.pos_start, std=std)
            self.head.weight.mul_(self.init_head)
            self.head_nm.ada_lin[-1].weight.mul_(self.init_adaln)
            scale = math.sqrt(2 * self.depth)
            for block in self.blocks:
                block.attn.proj.weight.div_(scale)
                block.ffn.fc2.weight.div_(scale)
                ada_weight = block.ada_lin[-1].weight  # (6C, C): gamma1, gamma2, scale1/2, shift1/2
                ada_weight[2 * C:].mul_(self.init_adaln)
                ada_weight[:2 * C].mul_(self.init_adaln_gamma)

    # --- schedule helpers -----------------------------------------------------------------
    def _check_schedule(self, patch_nums: Sequence[int]) -> Tuple[int, ...]:
        pns = tuple(int(pn) for pn in patch_nums)
        if not pns or pns[0] != 1:
            raise ValueError(f'a schedule must start with the 1x1 scale, got {list(patch_nums)}')
        bad = [pn for pn in pns if pn < 1 or pn > self.pos_grid_size]
        if bad:
            raise ValueError(f'scales {bad} of the schedule {list(patch_nums)} are outside '
                             f'[1, pos_grid_size={self.pos_grid_size}]')
        return pns

    def attn_bias(self, patch_nums: Sequence[int], device: torch.device,
                  dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """Cached block-causal mask (1, 1, L, L) of a schedule on ``device``.

        ``dtype`` defaults to the attention dtype of the current call (autocast's
        or the parameters'), so the blocks never cast the mask.
        """
        if dtype is None:
            dtype = attention_dtype(torch.device(device).type, self.pos_start.dtype)
        key = (self._check_schedule(patch_nums), str(device), dtype)
        bias = self._mask_cache.get(key)
        if bias is None:
            bias = block_causal_bias([pn * pn for pn in key[0]]).to(device=device, dtype=dtype)
            self._mask_cache[key] = bias
            while len(self._mask_cache) > self.mask_cache_size:
                self._mask_cache.popitem(last=False)
        else:
            self._mask_cache.move_to_end(key)
        return bias

    def scale_positions(self, pn: int) -> torch.Tensor:
        """Position embedding of one scale: ``area(pos_1LC -> pn x pn)``, row-major.

        Returns:
            Tensor: (1, pn * pn, C).
        """
        pos = F.interpolate(self.pos_1LC, size=(pn, pn), mode='area')  # (1, C, pn, pn)
        return pos.flatten(2).transpose(1, 2)  # (1, pn*pn, C)

    def schedule_positions(self, patch_nums: Sequence[int]) -> torch.Tensor:
        """Concatenated positions of every scale: (1, L, C)."""
        return torch.cat([self.scale_positions(pn) for pn in patch_nums], dim=1)

    def _run_blocks(self, x_BLC: torch.Tensor, cond_BD: torch.Tensor,
                    attn_bias: Optional[torch.Tensor]) -> torch.Tensor:
        runner = compiled_run_blocks() if self.compile_blocks else run_blocks
        return runner(self.blocks, x_BLC, cond_BD, attn_bias)

    def get_logits(self, h_BLC: torch.Tensor, cond_BD: torch.Tensor) -> torch.Tensor:
        """``head(head_nm(h, cond))`` (no float casts, docs/method.md §7.20): (B, L, V)."""
        return self.head(self.head_nm(h_BLC, cond_BD))

    # --- training passes ------------------------------------------------------------------
    def forward(self, label_B: torch.Tensor, x_BLCv_wo_first_l: torch.Tensor,
                patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forced pass (``FlexVAR.forward``).

        Sequence ``[class_emb(label) + pos_start, word_embed(x)]`` plus the
        schedule's positions, block-causal attention.

        Args:
            label_B (Tensor): (B,) class ids; dropped to ``num_classes`` with
                probability ``cond_drop_rate`` in train mode.
            x_BLCv_wo_first_l (Tensor): (B, L - 1, Cvae).
            patch_nums: the schedule of this call.

        Returns:
            Tensor: logits (B, L, V).
        """
        bias = self.attn_bias(patch_nums, x_BLCv_wo_first_l.device)
        B = x_BLCv_wo_first_l.shape[0]
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        sos = cond_BD.unsqueeze(1) + self.pos_start  # (B, 1, C)
        x_BLC = torch.cat((sos, self.word_embed(x_BLCv_wo_first_l.to(sos.dtype))), dim=1)
        if x_BLC.shape[1] != bias.shape[-1]:
            raise ValueError(f'input has {x_BLC.shape[1] - 1} tokens after the start token, but '
                             f'the schedule {list(patch_nums)} needs {bias.shape[-1] - 1}')
        x_BLC = x_BLC + self.schedule_positions(patch_nums).expand(B, -1, -1)
        return self.get_logits(self._run_blocks(x_BLC, cond_BD, bias), cond_BD)

    def forward_student(self, label_B: torch.Tensor, x_BlCv: torch.Tensor,
                        patch_nums: Sequence[int], scale_index: int) -> torch.Tensor:
        """SAR's Markovian student-forcing pass (docs/method.md §2.4, §7.21).

        Sequence ``[class_emb(label) (no pos_start), word_embed(x)]`` with the
        positions of the schedule ``[1, pn]``; mask of that two-block schedule.

        Args:
            label_B (Tensor): (B,) class ids (dropped in train mode).
            x_BlCv (Tensor): (B, pn ** 2, Cvae), ``pn = patch_nums[scale_index]``.
            patch_nums: the schedule of the step.
            scale_index (int): which scale the input stands for.

        Returns:
            Tensor: logits (B, pn ** 2, V).
        """
        pair = (1, int(patch_nums[scale_index]))
        bias = self.attn_bias(pair, x_BlCv.device)
        B = x_BlCv.shape[0]
        if x_BlCv.shape[1] != pair[1]**2:
            raise ValueError(f'student input has {x_BlCv.shape[1]} tokens, scale {pair[1]} '
                             f'needs {pair[1] ** 2}')
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        x_BLC = torch.cat((cond_BD.unsqueeze(1), self.word_embed(x_BlCv.to(cond_BD.dtype))), dim=1)
        x_BLC = x_BLC + self.schedule_positions(pair).expand(B, -1, -1)  # (B, 1 + pn*pn, C)
        h_BLC = self._run_blocks(x_BLC, cond_BD, bias)
        return self.get_logits(h_BLC[:, 1:], cond_BD)

    # --- KV-cached sampling ---------------------------------------------------------------
    def ar_begin(self, label_B: torch.Tensor, patch_nums: Sequence[int]) -> torch.Tensor:
        """Allocate KV caches for ``len(label_B)`` rows and embed the start token.

        Returns:
            Tensor: (B, 1, C) ``class_emb(label) + pos_start + pos(1x1)``.
        """
        pns = self._check_schedule(patch_nums)
        cond_BD = self.class_emb(label_B)  # (B, C)
        B, L = label_B.shape[0], sum(pn * pn for pn in pns)
        self._enable_sampling_caches(B, L, cond_BD.dtype, cond_BD.device)
        return cond_BD.unsqueeze(1) + self.pos_start + self.scale_positions(pns[0])

    def ar_step(self, x_BlC: torch.Tensor, label_B: torch.Tensor) -> torch.Tensor:
        """One block through the cached blocks (no mask: it sees the whole cache).

        Args:
            x_BlC (Tensor): (B, pn ** 2, C).
            label_B (Tensor): (B,) labels given to :meth:`ar_begin` (no dropout).

        Returns:
            Tensor: logits (B, pn ** 2, V), float32.
        """
        cond_BD = self.class_emb(label_B)  # (B, C)
        return self.get_logits(self._run_blocks(x_BlC, cond_BD, None), cond_BD).float()

    def ar_embed(self, x_BlCv: torch.Tensor, si: int, patch_nums: Sequence[int]) -> torch.Tensor:
        """``word_embed(x) + pos(pn_si)``: (B, pn_si ** 2, C)."""
        return self.word_embed(x_BlCv) + self.scale_positions(int(patch_nums[si]))

    def ar_end(self) -> None:
        """Free the KV caches and the kept AdaLN modulations."""
        self._disable_sampling_caches()

    def no_weight_decay_names(self) -> Sequence[str]:
        return ('pos_start', 'pos_1LC')

    def extra_repr(self) -> str:
        return (f'depth={self.depth}, embed_dim={self.embed_dim}, num_heads={self.num_heads}, '
                f'drop_path_rate={self.drop_path_rate:g}')
