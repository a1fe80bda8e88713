"""The body every next-scale transformer backbone of sar_mm shares.

VAR (``models/var.py``) and FlexVAR (``models/flexvar.py``) differ only in
their positions (docs/method.md §7.11, §7.17): class and start embeddings,
word embedding, AdaLN blocks, AdaLN head, init, label dropout, masks and
KV-cached sampling live here.

Notation: ``patch_nums`` is the scale schedule, ``L = sum(pn ** 2)``, the
first scale is the 1x1 start token, ``V`` the vocabulary, ``Cvae`` the
tokenizer's code dimension, ``C`` the width (64 x depth). The unconditional
class id is ``num_classes``.
"""
import contextlib
import math
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

from ..utils.scale_layout import num_tokens
from .layers import (AdaLNBeforeHead, AdaLNSelfAttn, BlockCache, attention_dtype,
                     block_causal_bias, compiled_run_blocks, run_blocks)

__all__ = ['as_schedule', 'BaseScaleTransformer', 'SamplingCache']


def as_schedule(patch_nums: Sequence[int]) -> Tuple[int, ...]:
    """``patch_nums`` as a tuple of ints; it must start with the 1x1 scale."""
    pns = tuple(int(pn) for pn in patch_nums)
    if not pns or pns[0] != 1:
        raise ValueError(f'a schedule must start with the 1x1 scale (the start token), '
                         f'got {list(patch_nums)}')
    return pns


class BaseScaleTransformer(nn.Module):
    """Next-scale prediction transformer; a subclass adds its positions.

    Modules and parameters are registered in the official order (the key
    order of converted checkpoints and the draw order of :meth:`init_weights`):
    ``word_embed``, ``class_emb``, ``pos_start``, the subclass's
    ``position_tables``, ``blocks``, ``head_nm``, ``head``. A subclass
    implements :meth:`scale_positions` and may narrow :meth:`check_schedule`.

    Logits dtype: the head computes in the current dtype (autocast's under
    autocast, else the parameters'). ``forward`` and ``forward_student`` cast
    the logits to float32 when ``float32_logits`` is set (VAR's ``.float()``
    casts, docs/method.md §7.12) and keep them otherwise (FlexVAR, §7.20);
    so do the sampling steps (:meth:`SamplingCache.step`).

    Args:
        depth (int): number of AdaLN blocks; width ``64 * depth``, ``depth`` heads.
        vocab_size (int): tokenizer vocabulary ``V``.
        position_tables (dict): the subclass's position parameters and modules
            by attribute name.
        num_classes (int): number of classes; id ``num_classes`` is unconditional.
        cvae (int): tokenizer code dimension.
        mlp_ratio (float): FFN hidden size over width.
        drop_path_rate (float, optional): last block's stochastic-depth rate (linear
            over blocks); ``None`` gives ``0.1 * depth / 24`` (docs/method.md §7.6).
        cond_drop_rate (float): label dropout for CFG training (train mode only).
        attn_l2_norm (bool): L2-normalised q/k attention with a learned scale.
        norm_eps (float): LayerNorm epsilon.
        init_adaln (float): init multiplier of the non-gamma AdaLN rows.
        init_adaln_gamma (float): init multiplier of the AdaLN gamma rows.
        init_head (float): init multiplier of the classifier head.
        mask_cache_size (int): number of (schedule, device, dtype) masks kept.
        compile_blocks (bool): run the blocks through ``torch.compile``
            (:func:`~sar_mm.models.backbones.layers.compiled_run_blocks`) in
            training and sampling; off by default (see ``docs/benchmarks.md``
            for where it pays off).
        checkpoint_blocks (bool): activation checkpointing of the blocks
            (``torch.utils.checkpoint``, non-reentrant): a training pass keeps
            only each block's input and runs the block again during backward,
            trading about one more forward for the blocks' activations
            (``docs/training_on_a_cluster.md``). Gradients are unchanged (the
            drop-path draws are replayed); KV-cached sampling never
            checkpoints. Not with ``compile_blocks``.
        **unknown: refused with the ``TypeError`` Python gives, naming the subclass.
    """

    float32_logits: bool = False

    def __init__(self, depth: int, vocab_size: int,
                 position_tables: Dict[str, Union[nn.Parameter, nn.Module]],
                 num_classes: int = 1000, cvae: int = 32, mlp_ratio: float = 4.0,
                 drop_path_rate: Optional[float] = None, cond_drop_rate: float = 0.1,
                 attn_l2_norm: bool = True, norm_eps: float = 1e-6, init_adaln: float = 0.5,
                 init_adaln_gamma: float = 1e-5, init_head: float = 0.02,
                 mask_cache_size: int = 16, compile_blocks: bool = False,
                 checkpoint_blocks: bool = False, **unknown) -> None:
        if unknown:  # a subclass passes its **kwargs on: name the class the config built
            raise TypeError(f'{type(self).__name__}.__init__() got an unexpected keyword '
                            f'argument {next(iter(unknown))!r}')
        super().__init__()
        if depth < 1:
            raise ValueError(f'depth must be positive, got {depth}')
        if compile_blocks and checkpoint_blocks:
            raise ValueError('compile_blocks and checkpoint_blocks cannot be combined: '
                             'choose one')
        self.depth = depth
        self.embed_dim = C = 64 * depth
        self.num_heads = depth
        self.num_classes = num_classes
        self.vocab_size = vocab_size
        self.cvae = cvae
        self.cond_drop_rate = cond_drop_rate
        self.drop_path_rate = 0.1 * depth / 24 if drop_path_rate is None else drop_path_rate
        self.init_adaln = init_adaln
        self.init_adaln_gamma = init_adaln_gamma
        self.init_head = init_head
        self.mask_cache_size = mask_cache_size
        self.compile_blocks = compile_blocks
        self.checkpoint_blocks = checkpoint_blocks

        self.word_embed = nn.Linear(cvae, C)
        self.class_emb = nn.Embedding(num_classes + 1, C)
        self.pos_start = nn.Parameter(torch.zeros(1, 1, C))
        for name, table in position_tables.items():
            setattr(self, name, table)
        dpr = torch.linspace(0, self.drop_path_rate, depth, device='cpu').tolist()
        self.blocks = nn.ModuleList([
            AdaLNSelfAttn(C, C, self.num_heads, mlp_ratio=mlp_ratio, drop_path=dpr[i],
                          norm_eps=norm_eps, attn_l2_norm=attn_l2_norm) for i in range(depth)
        ])
        self.head_nm = AdaLNBeforeHead(C, C, norm_eps=norm_eps)
        self.head = nn.Linear(C, vocab_size)
        self._mask_cache: 'OrderedDict[Tuple, torch.Tensor]' = OrderedDict()
        self.init_weights()

    def init_weights(self) -> None:
        """Official from-scratch init (docs/method.md §4.5, §7.6).

        Linear and embedding weights ~ trunc_normal(std = sqrt(1 / (3C))), biases 0;
        ``pos_start`` likewise; the head x ``init_head``; ``head_nm.ada_lin`` x
        ``init_adaln``; per block ``proj`` and ``fc2`` / sqrt(2 depth), ``ada_lin``
        gamma rows ``[:2C]`` x ``init_adaln_gamma`` and the other rows x
        ``init_adaln``; ``scale_mul`` keeps its ln 4. Checkpoint loading
        overwrites all of it.
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

    # --- what a subclass defines --------------------------------------------------------
    def check_schedule(self, patch_nums: Sequence[int]) -> Tuple[int, ...]:
        """The schedule as a tuple; ``ValueError`` when this backbone cannot run it."""
        return as_schedule(patch_nums)

    def scale_positions(self, patch_nums: Tuple[int, ...], si: int) -> torch.Tensor:
        """Position embedding of scale ``si`` of a checked schedule: (1, pn_si ** 2, C)."""
        raise NotImplementedError

    # --- shared pieces ------------------------------------------------------------------
    def schedule_positions(self, patch_nums: Tuple[int, ...]) -> torch.Tensor:
        """Positions of every scale of a checked schedule, concatenated: (1, L, C)."""
        return torch.cat([self.scale_positions(patch_nums, si) for si in range(len(patch_nums))],
                         dim=1)

    def attn_bias(self, patch_nums: Sequence[int], device: torch.device,
                  dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """Block-causal mask (1, 1, L, L) of a schedule, kept in a small LRU cache.

        ``dtype`` defaults to the attention dtype of the current call (autocast's
        or the parameters'), so the blocks never cast the mask. The masks are
        never in the state dict.
        """
        if dtype is None:
            dtype = attention_dtype(torch.device(device).type, self.pos_start.dtype)
        key = (tuple(int(pn) for pn in patch_nums), str(device), dtype)
        bias = self._mask_cache.get(key)
        if bias is None:
            bias = block_causal_bias([pn * pn for pn in key[0]]).to(device=device, dtype=dtype)
            self._mask_cache[key] = bias
            while len(self._mask_cache) > self.mask_cache_size:
                self._mask_cache.popitem(last=False)
        else:
            self._mask_cache.move_to_end(key)
        return bias

    def embed_words(self, x_BlCv: torch.Tensor) -> torch.Tensor:
        """``word_embed`` of next-scale inputs, cast to the parameters' dtype: (B, l, C)."""
        return self.word_embed(x_BlCv.to(self.pos_start.dtype))

    def get_logits(self, h_BLC: torch.Tensor, cond_BD: torch.Tensor) -> torch.Tensor:
        """``head(head_nm(h, cond))``: (B, L, C) -> (B, L, V), float32 if ``float32_logits``."""
        logits = self.head(self.head_nm(h_BLC, cond_BD))
        return logits.float() if self.float32_logits else logits

    def _run_blocks(self, x_BLC: torch.Tensor, cond_BD: torch.Tensor,
                    attn_bias: Optional[torch.Tensor],
                    caches: Optional[List[BlockCache]] = None) -> torch.Tensor:
        """The blocks in order: x (B, L, C), cond (B, D) -> (B, L, C).

        ``caches`` make it a KV-cached sampling step. With ``checkpoint_blocks``,
        a pass that records gradients checkpoints each block.
        """
        if self.checkpoint_blocks and caches is None and torch.is_grad_enabled():
            for block in self.blocks:
                x_BLC = checkpoint(block, x_BLC, cond_BD, attn_bias, use_reentrant=False)
            return x_BLC
        runner = compiled_run_blocks() if self.compile_blocks else run_blocks
        return runner(self.blocks, x_BLC, cond_BD, attn_bias, caches)

    def _drop_labels(self, label_B: torch.Tensor) -> torch.Tensor:
        """Label dropout for CFG training: each id becomes ``num_classes`` with
        probability ``cond_drop_rate``, in ``train()`` mode only. (B,) -> (B,)."""
        if not self.training or self.cond_drop_rate <= 0:
            return label_B
        drop = torch.rand(label_B.shape[0], device=label_B.device) < self.cond_drop_rate
        return torch.where(drop, torch.full_like(label_B, self.num_classes), label_B)

    # --- training passes ----------------------------------------------------------------
    def forward(self, label_B: torch.Tensor, x_BLCv_wo_first_l: torch.Tensor,
                patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forced pass over all scales (``VAR.forward``, ``FlexVAR.forward``).

        Sequence ``[class_emb(label) + pos_start, word_embed(x)]`` plus the
        schedule's positions, block-causal attention.

        Args:
            label_B (Tensor): (B,) class ids in ``[0, num_classes]``; dropped to
                ``num_classes`` with probability ``cond_drop_rate`` in train mode.
            x_BLCv_wo_first_l (Tensor): (B, L - 1, Cvae) next-scale inputs.
            patch_nums: the schedule of this call.

        Returns:
            Tensor: logits (B, L, V).
        """
        pns = self.check_schedule(patch_nums)
        num_inputs = num_tokens(pns) - 1
        if x_BLCv_wo_first_l.shape[1] != num_inputs:
            raise ValueError(f'the schedule {list(pns)} needs {num_inputs} input tokens after '
                             f'the start token, got {x_BLCv_wo_first_l.shape[1]}')
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        sos = cond_BD.unsqueeze(1) + self.pos_start  # (B, 1, C)
        x_BLC = torch.cat((sos, self.embed_words(x_BLCv_wo_first_l)), dim=1)
        x_BLC = x_BLC + self.schedule_positions(pns)  # (B, L, C)
        h_BLC = self._run_blocks(x_BLC, cond_BD, self.attn_bias(pns, x_BLC.device))
        return self.get_logits(h_BLC, cond_BD)

    def forward_student(self, label_B: torch.Tensor, x_BlCv: torch.Tensor,
                        patch_nums: Sequence[int], scale_index: int) -> torch.Tensor:
        """SAR's Markovian student-forcing pass (docs/method.md §2.4, §7.21).

        Sequence ``[class_emb(label) (no pos_start), word_embed(x)]`` with the
        positions of scale 0 and of scale ``scale_index``, and the mask of the
        two-block schedule ``(1, pn)``: the class token sees itself, the scale's
        tokens see the class token and each other.

        Args:
            label_B (Tensor): (B,) class ids (dropped in train mode).
            x_BlCv (Tensor): (B, pn ** 2, Cvae), ``pn = patch_nums[scale_index]``.
            patch_nums: the schedule of the step.
            scale_index (int): which scale the input stands for, ``>= 1``.

        Returns:
            Tensor: logits (B, pn ** 2, V) (the class token's row is dropped).
        """
        pns = self.check_schedule(patch_nums)
        if not 1 <= scale_index < len(pns):
            raise ValueError(f'scale_index must be in [1, {len(pns)}), got {scale_index}')
        pn = pns[scale_index]
        if x_BlCv.shape[1] != pn * pn:
            raise ValueError(f'scale {scale_index} of the schedule {list(pns)} needs {pn * pn} '
                             f'tokens, got {x_BlCv.shape[1]}')
        cond_BD = self.class_emb(self._drop_labels(label_B))  # (B, C)
        x_BLC = torch.cat((cond_BD.unsqueeze(1), self.embed_words(x_BlCv)), dim=1)
        positions = [self.scale_positions(pns, 0), self.scale_positions(pns, scale_index)]
        x_BLC = x_BLC + torch.cat(positions, dim=1)  # (B, 1 + pn*pn, C)
        h_BLC = self._run_blocks(x_BLC, cond_BD, self.attn_bias((1, pn), x_BLC.device))
        return self.get_logits(h_BLC[:, 1:], cond_BD)

    # --- KV-cached sampling -------------------------------------------------------------
    @contextlib.contextmanager
    def kv_cache(self, label_B: torch.Tensor,
                 patch_nums: Sequence[int]) -> Iterator['SamplingCache']:
        """KV-cached sampling of the rows ``label_B`` over ``patch_nums`` (docs/method.md §5.1).

        Usage::

            with backbone.kv_cache(labels, patch_nums) as cache:
                x_BlC = cache.start()
                for si in range(len(patch_nums)):
                    logits_BlV = cache.step(x_BlC)
                    ...  # draw tokens, next-scale input x_BlCv
                    x_BlC = cache.embed(x_BlCv, si + 1)

        Leaving the block, also by an exception, frees the caches; the backbone
        keeps no sampling state of its own.
        """
        cache = SamplingCache(self, label_B, patch_nums)
        try:
            yield cache
        finally:
            cache.close()

    def no_weight_decay_names(self) -> Sequence[str]:
        """``pos_start`` and ``pos_1LC`` (and 1-D parameters, handled by the caller)."""
        return ('pos_start', 'pos_1LC')

    def extra_repr(self) -> str:
        return (f'depth={self.depth}, embed_dim={self.embed_dim}, num_heads={self.num_heads}, '
                f'drop_path_rate={self.drop_path_rate:g}')


class SamplingCache:
    """One KV-cached sampling run of a backbone, made by :meth:`BaseScaleTransformer.kv_cache`.

    Holds the rows' condition ``class_emb(label)`` (no label dropout), the
    schedule and one :class:`~sar_mm.models.backbones.layers.BlockCache` per
    block; usable only inside its ``with`` block. Step ``si`` runs scale
    ``si``'s embedded block against every cached token, without a mask.
    """

    def __init__(self, backbone: BaseScaleTransformer, label_B: torch.Tensor,
                 patch_nums: Sequence[int]) -> None:
        self.backbone = backbone
        self.patch_nums = backbone.check_schedule(patch_nums)
        self.cond_BD: Optional[torch.Tensor] = backbone.class_emb(label_B)  # (B, C)
        device = self.cond_BD.device
        dtype = attention_dtype(device.type, self.cond_BD.dtype)
        max_len = num_tokens(self.patch_nums)
        self.block_caches: Optional[List[BlockCache]] = [
            BlockCache(label_B.shape[0], max_len, block.attn.num_heads, block.attn.head_dim,
                       dtype, device) for block in backbone.blocks
        ]
        self.num_steps = 0

    def _cond(self) -> torch.Tensor:
        if self.cond_BD is None:
            raise RuntimeError('this sampling cache is closed: use it inside its '
                               '`with backbone.kv_cache(...)` block')
        return self.cond_BD

    def start(self) -> torch.Tensor:
        """The embedded start token ``class_emb(label) + pos_start + pos(scale 0)``: (B, 1, C)."""
        return (self._cond().unsqueeze(1) + self.backbone.pos_start
                + self.backbone.scale_positions(self.patch_nums, 0))

    def step(self, x_BlC: torch.Tensor) -> torch.Tensor:
        """Run the next scale's embedded block (B, pn ** 2, C) -> logits (B, pn ** 2, V).

        The logits are in the dtype of :meth:`BaseScaleTransformer.get_logits`:
        float32 with ``float32_logits`` (VAR), else the head's (the autocast
        dtype under autocast, as the official FlexVAR ``get_logits``).
        """
        cond_BD, si = self._cond(), self.num_steps
        if si >= len(self.patch_nums):
            raise ValueError(f'every scale of {list(self.patch_nums)} has been run already')
        if x_BlC.shape[1] != self.patch_nums[si]**2:
            raise ValueError(f'step {si} of the schedule {list(self.patch_nums)} needs '
                             f'{self.patch_nums[si] ** 2} tokens, got {x_BlC.shape[1]}')
        h_BlC = self.backbone._run_blocks(x_BlC, cond_BD, None, self.block_caches)
        self.num_steps += 1
        return self.backbone.get_logits(h_BlC, cond_BD)

    def embed(self, x_BlCv: torch.Tensor, si: int) -> torch.Tensor:
        """``word_embed(x) + pos(scale si)``: (B, pn_si ** 2, Cvae) -> (B, pn_si ** 2, C)."""
        self._cond()
        if not 1 <= si < len(self.patch_nums):
            raise ValueError(f'embed needs 1 <= si < {len(self.patch_nums)}, got {si}')
        return self.backbone.embed_words(x_BlCv) + self.backbone.scale_positions(
            self.patch_nums, si)

    def close(self) -> None:
        """Free the KV buffers and the kept AdaLN modulations."""
        self.block_caches = None
        self.cond_BD = None
