"""Interface every next-scale transformer backbone of sar_mm implements.

Notation: ``patch_nums`` is the scale schedule, ``L = sum(pn ** 2)``,
``first_l = patch_nums[0] ** 2`` (always 1), ``V`` the vocabulary,
``Cvae`` the tokenizer's code dimension, ``C`` the width (64 x depth).
The unconditional class id is ``num_classes``.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn

__all__ = ['BaseScaleTransformer']


class BaseScaleTransformer(nn.Module):
    """Abstract next-scale prediction transformer.

    Attributes:
        num_classes (int), vocab_size (int), cvae (int), depth (int),
        embed_dim (int), cond_drop_rate (float), blocks (nn.ModuleList of AdaLN blocks).
    """

    num_classes: int
    vocab_size: int
    cvae: int
    depth: int
    embed_dim: int
    cond_drop_rate: float
    blocks: nn.ModuleList

    def forward(self, label_B: torch.Tensor, x_BLCv_wo_first_l: torch.Tensor,
                patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forced pass over all scales with a block-causal mask.

        Labels are replaced by ``num_classes`` with probability
        ``cond_drop_rate`` in ``train()`` mode only.

        Args:
            label_B (Tensor): (B,) int64 class ids in ``[0, num_classes]``.
            x_BLCv_wo_first_l (Tensor): (B, L - 1, Cvae) next-scale inputs.
            patch_nums: the schedule.

        Returns:
            Tensor: logits (B, L, V).
        """
        raise NotImplementedError

    def forward_student(self, label_B: torch.Tensor, x_BlCv: torch.Tensor,
                        patch_nums: Sequence[int], scale_index: int) -> torch.Tensor:
        """SAR's Markovian student-forcing pass (docs/method.md §2.4).

        The sequence is ``[class_emb(label) (no pos_start), word_embed(x)]`` with
        the positions of the class token and of scale ``scale_index``; the class
        token sees itself, the scale's tokens see the class token and each other.

        Args:
            x_BlCv (Tensor): (B, pn ** 2, Cvae), ``pn = patch_nums[scale_index]``.

        Returns:
            Tensor: logits (B, pn ** 2, V) (the class token's row is dropped).
        """
        raise NotImplementedError

    def _drop_labels(self, label_B: torch.Tensor) -> torch.Tensor:
        """Label dropout for CFG training: each id becomes ``num_classes`` with
        probability ``cond_drop_rate``, in ``train()`` mode only. (B,) -> (B,)."""
        if not self.training or self.cond_drop_rate <= 0:
            return label_B
        drop = torch.rand(label_B.shape[0], device=label_B.device) < self.cond_drop_rate
        return torch.where(drop, torch.full_like(label_B, self.num_classes), label_B)

    # --- KV-cached autoregressive sampling -------------------------------------------
    def _enable_sampling_caches(self, batch_size: int, max_len: int, dtype: torch.dtype,
                                device: torch.device) -> None:
        """KV caches of ``max_len`` tokens in every block, AdaLN modulation kept."""
        for block in self.blocks:
            block.attn.enable_kv_cache(batch_size, max_len, dtype, device)
            block.reuse_modulation(True)

    def _disable_sampling_caches(self) -> None:
        """Free the KV caches and the kept AdaLN modulations of every block."""
        for block in self.blocks:
            block.attn.disable_kv_cache()
            block.reuse_modulation(False)

    def ar_begin(self, label_B: torch.Tensor, patch_nums: Sequence[int]) -> torch.Tensor:
        """Allocate KV caches for ``len(label_B)`` rows and the schedule.

        Returns:
            Tensor: embedded first block (B, first_l, C).
        """
        raise NotImplementedError

    def ar_step(self, x_BlC: torch.Tensor, label_B: torch.Tensor) -> torch.Tensor:
        """Run one block through the cached transformer.

        Args:
            x_BlC (Tensor): (B, pn ** 2, C) embedded block.
            label_B (Tensor): (B,) labels of the rows (no dropout).

        Returns:
            Tensor: logits (B, pn ** 2, V) in float32.
        """
        raise NotImplementedError

    def ar_embed(self, x_BlCv: torch.Tensor, si: int, patch_nums: Sequence[int]) -> torch.Tensor:
        """Embed a next-scale input of scale ``si``: word embedding plus positions.

        Returns:
            Tensor: (B, pn_si ** 2, C).
        """
        raise NotImplementedError

    def ar_end(self) -> None:
        """Free the KV caches."""
        raise NotImplementedError

    def no_weight_decay_names(self) -> Optional[Sequence[str]]:
        """Parameter names (besides 1-D ones) excluded from weight decay."""
        return ('pos_start', 'pos_1LC')
