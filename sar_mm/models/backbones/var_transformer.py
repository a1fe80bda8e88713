"""VAR's next-scale prediction transformer.

Implements ``models/var.py: VAR`` (Tian et al., 2024, section 3.2) with the
shared AdaLN blocks of :mod:`sar_mm.models.backbones.layers`:

* width ``C = 64 * depth``, ``depth`` heads of 64 channels, drop-path rates
  ``linspace(0, 0.1 * depth / 24, depth)`` (docs/method.md §7.6);
* conditioning ``cond = class_emb(label)`` (unconditional class ``num_classes``),
  start token ``cond + pos_start`` (§7.5);
* positions ``lvl_embed(level) + pos_1LC`` with a learned (1, L, C) table for
  the fixed schedule the model is built with (§7.11); a shorter schedule
  must be a prefix of it;
* a block-causal mask over scales for teacher forcing, a KV cache for sampling
  (§7.4).

Official attribute names are kept. ``lvl_1L`` and ``attn_bias_for_masking`` are
rebuilt from the schedule and are non-persistent buffers; the converter drops
them from release checkpoints.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from sar_mm.registry import BACKBONES
from .base_backbone import BaseScaleTransformer
from .layers import AdaLNBeforeHead, AdaLNSelfAttn, block_causal_bias, run_blocks

__all__ = ['VARTransformer']


@BACKBONES.register_module()
class VARTransformer(BaseScaleTransformer):
    """Class-conditional VAR transformer (``var_d{16,20,24,30}.pth``).

    Args:
        depth (int): number of blocks; width ``64 * depth``, ``depth`` heads.
        num_classes (int): number of classes; id ``num_classes`` is unconditional.
        vocab_size (int): tokenizer vocabulary ``V``.
        cvae (int): tokenizer code dimension.
        patch_nums (Sequence[int]): the fixed schedule of the position table.
        mlp_ratio (float): FFN hidden size over width.
        drop_path_rate (float | None): last block's drop-path rate; ``None`` gives
            VAR's ``0.1 * depth / 24``.
        cond_drop_rate (float): label dropout probability in ``train()`` mode.
        attn_l2_norm (bool): L2-normalised q/k attention (all releases).
        norm_eps (float): LayerNorm epsilon.
    """

    def __init__(self, depth: int, num_classes: int = 1000, vocab_size: int = 4096,
                 cvae: int = 32,
                 patch_nums: Sequence[int] = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
                 mlp_ratio: float = 4.0, drop_path_rate: Optional[float] = None,
                 cond_drop_rate: float = 0.1, attn_l2_norm: bool = True,
                 norm_eps: float = 1e-6) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f'depth must be positive, got {depth}')
        if patch_nums[0] != 1:
            raise ValueError(f'the first scale must be 1x1 (the start token), got {patch_nums}')
        self.depth = depth
        self.embed_dim = C = 64 * depth
        self.num_heads = depth
        self.num_classes = num_classes
        self.vocab_size = vocab_size
        self.cvae = cvae
        self.cond_drop_rate = cond_drop_rate
        self.patch_nums: Tuple[int, ...] = tuple(int(pn) for pn in patch_nums)
        self.L = sum(pn ** 2 for pn in self.patch_nums)
        self.first_l = 1
        self.drop_path_rate = 0.1 * depth / 24 if drop_path_rate is None else drop_path_rate

        self.word_embed = nn.Linear(cvae, C)
        self.class_emb = nn.Embedding(num_classes + 1, C)
        self.pos_start = nn.Parameter(torch.zeros(1, self.first_l, C))
        self.pos_1LC = nn.Parameter(torch.zeros(1, self.L, C))
        self.lvl_embed = nn.Embedding(len(self.patch_nums), C)
        dpr = torch.linspace(0, self.drop_path_rate, depth, device='cpu').tolist()
        self.blocks = nn.ModuleList([
            AdaLNSelfAttn(C, C, self.num_heads, mlp_ratio=mlp_ratio, drop_path=dpr[i],
                          norm_eps=norm_eps, attn_l2_norm=attn_l2_norm) for i in range(depth)
        ])
        self.head_nm = AdaLNBeforeHead(C, C, norm_eps=norm_eps)
        self.head = nn.Linear(C, vocab_size)

        sizes = [pn ** 2 for pn in self.patch_nums]
        lvl_1L = torch.cat([torch.full((n, ), i) for i, n in enumerate(sizes)]).view(1, self.L)
        self.register_buffer('lvl_1L', lvl_1L, persistent=False)
        self.register_buffer('attn_bias_for_masking', block_causal_bias(sizes), persistent=False)
        self._ar_patch_nums: Optional[Tuple[int, ...]] = None
        self.init_weights()

    # --- initialisation ---------------------------------------------------------------
    def init_weights(self, init_adaln: float = 0.5, init_adaln_gamma: float = 1e-5,
                     init_head: float = 0.02) -> None:
        """VAR's from-scratch init (``VAR.init_weights`` as ``build_vae_var`` calls it).

        Linear and embedding weights and the position tables ~ trunc-normal with
        ``std = sqrt(1 / (3C))``, biases zero; head x ``init_head``; final AdaLN x
        ``init_adaln``; per block ``proj`` and ``fc2`` / ``sqrt(2 depth)``, AdaLN gamma
        rows ``[:2C]`` x ``init_adaln_gamma`` and the other rows x ``init_adaln``.
        Checkpoint loading overwrites all of it.
        """
        C = self.embed_dim
        std = math.sqrt(1 / C / 3)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=std)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.trunc_normal_(m.weight, std=std)
        nn.init.trunc_normal_(self.pos_start, std=std)
        nn.init.trunc_normal_(self.pos_1LC, std=std)
        with torch.no_grad():
            self.head.weight.mul_(init_head)
            self.head_nm.ada_lin[-1].weight.mul_(init_adaln)
            for block in self.blocks:
                block.attn.proj.weight.div_(math.sqrt(2 * self.depth))
                block.ffn.fc2.weight.div_(math.sqrt(2 * self.depth))
                block.ada_lin[-1].weight[2 * C:].mul_(init_adaln)
                block.ada_lin[-1].weight[:2 * C].mul_(init_adaln_gamma)

    # --- helpers ----------------------------------------------------------------------
    def _check_prefix(self, patch_nums: Sequence[int]) -> Tuple[int, ...]:
        pns = tuple(int(pn) for pn in patch_nums)
        if len(pns) == 0 or pns != self.patch_nums[:len(pns)]:
            raise ValueError(f'VARTransformer has a learned position table for the fixed '
                             f'schedule {list(self.patch_nums)}; got {list(pns)}, which is '
                             'not that schedule or a prefix of it')
        return pns

    def _begin_end(self, si: int) -> Tuple[int, int]:
        begin = sum(pn ** 2 for pn in self.patch_nums[:si])
        return begin, begin + self.patch_nums[si] ** 2

    def _lvl_pos(self) -> torch.Tensor:
        """``lvl_embed(lvl_1L) + pos_1LC``: (1, L, C)."""
        return self.lvl_embed(self.lvl_1L) + self.pos_1LC

    def get_logits(self, h_BLC: torch.Tensor, cond_BD: torch.Tensor) -> torch.Tensor:
        """AdaLN head in float32: (B, L, C) -> (B, L, V)."""
        return self.head(self.head_nm(h_BLC.float(), cond_BD.float()).float()).float()

    # --- teacher forcing --------------------------------------------------------------
    def forward(self, label_B: torch.Tensor, x_BLCv_wo_first_l: torch.Tensor,
                patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forced pass over all scales (``VAR.forward``).

        Args:
            label_B (Tensor): (B,) class ids in ``[0, num_classes]``.
            x_BLCv_wo_first_l (Tensor): (B, L - 1, Cvae) next-scale inputs.
            patch_nums: the built schedule or a prefix of it.

        Returns:
            Tensor: logits (B, L, V) float32.
        """
        pns = self._check_prefix(patch_nums)
        L = sum(pn ** 2 for pn in pns)
        B = x_BLCv_wo_first_l.shape[0]
        if x_BLCv_wo_first_l.shape[1] != L - self.first_l:
            raise ValueError(f'expected {L - self.first_l} input tokens for schedule '
                             f'{list(pns)}, got {x_BLCv_wo_first_l.shape[1]}')
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        sos = cond_BD.unsqueeze(1) + self.pos_start.expand(B, -1, -1)  # (B, 1, C)
        x_BLC = torch.cat((sos, self.word_embed(x_BLCv_wo_first_l.float())), dim=1)  # (B, L, C)
        x_BLC = x_BLC + self._lvl_pos()[:, :L]
        h = run_blocks(self.blocks, x_BLC, cond_BD, self.attn_bias_for_masking[:, :, :L, :L])
        return self.get_logits(h, cond_BD)

    def forward_student(self, label_B: torch.Tensor, x_BlCv: torch.Tensor,
                        patch_nums: Sequence[int], scale_index: int) -> torch.Tensor:
        """Markovian student-forcing pass over one scale (docs/method.md §2.4, VAR analogue).

        VAR has no official student-forcing forward; this mirrors SAR's FlexVAR one
        with VAR's positions: the sequence is
        ``[class_emb(label) + lvl_embed(0) + pos_1LC[0] (no pos_start),
        word_embed(x) + lvl_embed(si) + pos_1LC[scale si]]``. The class token sees
        itself; the scale's tokens see the class token and each other.

        Args:
            label_B (Tensor): (B,) class ids (dropped with ``cond_drop_rate`` in train mode).
            x_BlCv (Tensor): (B, pn ** 2, Cvae) input of scale ``scale_index``.
            patch_nums: the built schedule or a prefix of it.
            scale_index (int): ``si`` in ``[1, len(patch_nums))``.

        Returns:
            Tensor: logits (B, pn ** 2, V) float32 (the class token's row is dropped).
        """
        pns = self._check_prefix(patch_nums)
        if not 1 <= scale_index < len(pns):
            raise ValueError(f'scale_index must be in [1, {len(pns)}), got {scale_index}')
        begin, end = self._begin_end(scale_index)
        if x_BlCv.shape[1] != end - begin:
            raise ValueError(f'scale {scale_index} has {end - begin} tokens, '
                             f'got {x_BlCv.shape[1]}')
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        lvl_pos = self._lvl_pos()
        cls = cond_BD.unsqueeze(1) + lvl_pos[:, :self.first_l]  # (B, 1, C)
        blk = self.word_embed(x_BlCv.float()) + lvl_pos[:, begin:end]  # (B, pn*pn, C)
        x_BLC = torch.cat((cls, blk), dim=1)  # (B, 1 + pn*pn, C)
        bias = block_causal_bias([self.first_l, end - begin]).to(x_BLC.device)
        h = run_blocks(self.blocks, x_BLC, cond_BD, bias)
        return self.get_logits(h[:, self.first_l:], cond_BD)

    # --- KV-cached sampling -----------------------------------------------------------
    def ar_begin(self, label_B: torch.Tensor, patch_nums: Sequence[int]) -> torch.Tensor:
        """Allocate KV caches and embed the start token ``cond + pos_start + lvl_pos[0]``.

        Args:
            label_B (Tensor): (B,) labels of all rows (e.g. ``[cond; uncond]`` for CFG).
            patch_nums: the built schedule or a prefix of it.

        Returns:
            Tensor: (B, 1, C).
        """
        pns = self._check_prefix(patch_nums)
        B = label_B.shape[0]
        max_len = sum(pn ** 2 for pn in pns)
        self._enable_sampling_caches(B, max_len, self.pos_1LC.dtype, self.pos_1LC.device)
        self._ar_patch_nums = pns
        cond_BD = self.class_emb(label_B)  # (B, C)
        return (cond_BD.unsqueeze(1) + self.pos_start.expand(B, -1, -1)
                + self._lvl_pos()[:, :self.first_l])

    def ar_step(self, x_BlC: torch.Tensor, label_B: torch.Tensor) -> torch.Tensor:
        """Run one embedded block through the cached blocks.

        Args:
            x_BlC (Tensor): (B, pn ** 2, C).
            label_B (Tensor): (B,) labels of the rows (no dropout).

        Returns:
            Tensor: logits (B, pn ** 2, V) float32.
        """
        if self._ar_patch_nums is None:
            raise RuntimeError('call ar_begin before ar_step')
        cond_BD = self.class_emb(label_B)  # (B, C)
        return self.get_logits(run_blocks(self.blocks, x_BlC, cond_BD, None), cond_BD)

    def ar_embed(self, x_BlCv: torch.Tensor, si: int, patch_nums: Sequence[int]) -> torch.Tensor:
        """``word_embed(x) + lvl_pos`` of scale ``si``: (B, pn ** 2, Cvae) -> (B, pn ** 2, C)."""
        pns = self._check_prefix(patch_nums)
        if not 1 <= si < len(pns):
            raise ValueError(f'ar_embed needs 1 <= si < {len(pns)}, got {si}')
        begin, end = self._begin_end(si)
        return self.word_embed(x_BlCv.float()) + self._lvl_pos()[:, begin:end]

    def ar_end(self) -> None:
        """Free the KV caches and the kept AdaLN modulations."""
        self._disable_sampling_caches()
        self._ar_patch_nums = None

    def no_weight_decay_names(self) -> List[str]:
        """``pos_start`` and ``pos_1LC`` (and 1-D parameters, handled by the caller)."""
        return ['pos_start', 'pos_1LC']
