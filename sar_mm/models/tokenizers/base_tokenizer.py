"""Interface every multi-scale tokenizer of sar_mm implements.

A tokenizer turns images into one token map per scale of a schedule
``patch_nums`` (e.g. :data:`~sar_mm.models.utils.scale_layout.CANONICAL_PATCH_NUMS`),
builds the next-scale inputs that a backbone consumes, and decodes token maps
to images. Token maps are flattened row-major: scale ``pn`` has ``pn * pn``
tokens, ``L = sum(pn ** 2)`` in all (:mod:`sar_mm.models.utils.scale_layout`).
The first scale (``patch_nums[0] == 1``) has no input block: the backbone's
start token stands in for it.

Tokenizers are frozen by default: ``eval()`` mode and ``requires_grad=False``;
``train()`` keeps them in eval mode while ``frozen`` is set.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..utils.known_tokens import KnownTokens

__all__ = ['BaseMultiScaleTokenizer']


class BaseMultiScaleTokenizer(nn.Module):
    """Abstract multi-scale tokenizer.

    Attributes:
        vocab_size (int): number of codebook entries ``V``.
        embed_dim (int): code dimension ``Cvae`` (the backbone's input width).
        downsample (int): image pixels per latent cell (16 for the releases).
    """

    vocab_size: int
    embed_dim: int
    downsample: int

    def __init__(self, frozen: bool = True) -> None:
        super().__init__()
        self.frozen = frozen

    def freeze(self) -> None:
        """Put the tokenizer in eval mode and stop its gradients."""
        self.frozen = True
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> 'BaseMultiScaleTokenizer':
        return super().train(mode and not self.frozen)

    def encode_latent(self, img: torch.Tensor) -> torch.Tensor:
        """Continuous latent before any quantisation.

        Everything a schedule's token maps need: :meth:`latent_to_idx` turns it
        into the maps of any schedule the latent can serve, so a frozen
        tokenizer's latents can be computed once and reused (``LatentDataset``).

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            Tensor: (B, Cvae, H / downsample, W / downsample).
        """
        raise NotImplementedError

    def latent_to_idx(self, latent: torch.Tensor, patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Token indices per scale of a latent from :meth:`encode_latent`.

        Args:
            latent (Tensor): (B, Cvae, h, w).
            patch_nums: scale side lengths, increasing; the last equals ``h`` for
                VAR, and at most ``min(h, w)`` for FlexVAR.

        Returns:
            list[Tensor]: one (B, pn * pn) int64 tensor per scale.
        """
        raise NotImplementedError

    def img_to_idx(self, img: torch.Tensor, patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Encode images into token indices per scale: ``latent_to_idx(encode_latent(img))``.

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1].
            patch_nums: as for :meth:`latent_to_idx`.

        Returns:
            list[Tensor]: one (B, pn * pn) int64 tensor per scale.
        """
        return self.latent_to_idx(self.encode_latent(img), patch_nums)

    def idx_to_next_inputs(self, idx_list: Sequence[torch.Tensor],
                           patch_nums: Sequence[int]) -> torch.Tensor:
        """Next-scale inputs of teacher forcing from token maps of every scale.

        Block ``k`` (``k >= 1``) of the output is the input from which the
        backbone predicts scale ``k``; it is computed from scales ``< k`` only.

        Args:
            idx_list: one (B, pn * pn) tensor per scale (the last may be omitted).
            patch_nums: the schedule.

        Returns:
            Tensor: (B, L - patch_nums[0] ** 2, Cvae).
        """
        raise NotImplementedError

    def ar_next_input(self, idx: torch.Tensor, si: int, patch_nums: Sequence[int],
                      state: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """One step of autoregressive sampling: input of scale ``si + 1``.

        Args:
            idx (Tensor): (B, pn_si ** 2) tokens just sampled at scale ``si``.
            si (int): index of that scale in ``patch_nums`` (``< len - 1``).
            patch_nums: the schedule.
            state: tokenizer-specific carry (VAR: the accumulated ``f_hat``),
                ``None`` at ``si == 0``.

        Returns:
            tuple: (B, pn_{si+1} ** 2, Cvae) input and the new state.
        """
        raise NotImplementedError

    def known_tokens(self, img: torch.Tensor, regenerate_per_scale: Sequence[torch.Tensor],
                     patch_nums: Sequence[int]) -> KnownTokens:
        """What zero-shot editing keeps of ``img`` (docs/method.md §5.4).

        The default, right for token maps that are independent per scale
        (FlexVAR): the input's maps, computed up front. A tokenizer whose maps
        depend on the scales before them computes the kept tokens while
        sampling instead (VAR: ``ResidualKnownTokens``).

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1].
            regenerate_per_scale: one (B, pn ** 2) bool map per scale, True = sample.
            patch_nums: the schedule.

        Returns:
            an object with ``check``, ``merge`` and ``rows`` (:class:`KnownTokens`).
        """
        return KnownTokens(self.img_to_idx(img, patch_nums), list(regenerate_per_scale))

    def decode_idx(self, idx_list: Sequence[torch.Tensor], patch_nums: Sequence[int],
                   all_scales: bool = False) -> List[torch.Tensor]:
        """Decode token maps to images.

        Returns:
            list[Tensor]: (B, 3, H, W) images in the official value range of the
            family (VAR: clamped to [-1, 1]; FlexVAR: raw decoder output, about
            [-1, 1]); one per scale if ``all_scales`` else only the final image.
        """
        raise NotImplementedError
