"""VAR's multi-scale residual VQVAE as a sar_mm tokenizer.

Implements ``models/vqvae.py: VQVAE`` of VAR (Tian et al., 2024, section 3.2 and
Alg. 1-2) on top of :class:`VAREncoder`, :class:`VARDecoder` and
:class:`ResidualQuantizer`. Official module names are kept (``encoder``,
``decoder``, ``quantize``, ``quant_conv``, ``post_quant_conv``), so a release
checkpoint loads after dropping ``quantize.ema_vocab_hit_SV`` (codebook-usage
statistics of VQVAE training, unused here; see ``sar_mm.models.converters.var``).

Value range: images go in and come out in [-1, 1]. VAR's
``autoregressive_infer_cfg`` returns ``(img + 1) / 2`` in [0, 1]; :meth:`decode_idx`
returns the clamped [-1, 1] image before that mapping.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from sar_mm.registry import TOKENIZERS
from ..utils.scale_layout import CANONICAL_PATCH_NUMS
from .base_tokenizer import BaseMultiScaleTokenizer
from .residual_known_tokens import ResidualKnownTokens
from .residual_quantizer import ResidualQuantizer, check_residual_schedule
from .var_autoencoder import VARDecoder, VAREncoder

__all__ = ['MultiScaleVQVAE']


@TOKENIZERS.register_module()
class MultiScaleVQVAE(BaseMultiScaleTokenizer):
    """Multi-scale residual VQVAE of VAR (``vae_ch160v4096z32.pth``).

    Args:
        ch (int): autoencoder base width (160).
        z_channels (int): latent / code dimension ``Cvae`` (32).
        vocab_size (int): codebook size ``V`` (4096).
        share_quant_resi (int): number of shared φ convs (4).
        quant_resi (float): φ mixing ratio (0.5).
        patch_nums (Sequence[int]): the release schedule; its last entry is the
            latent side the tokenizer serves (16 for 256 px images). Calls may pass
            another schedule with the same last side: φ is then chosen for its
            number of scales, as the official ``v_patch_nums`` override does.
        ch_mult (Sequence[int]): autoencoder width multipliers per level.
        num_res_blocks (int): encoder res blocks per level (decoder: one more).
        frozen (bool): eval mode and no gradients (always, for VAR).
    """

    def __init__(self, ch: int = 160, z_channels: int = 32, vocab_size: int = 4096,
                 share_quant_resi: int = 4, quant_resi: float = 0.5,
                 patch_nums: Sequence[int] = CANONICAL_PATCH_NUMS,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4), num_res_blocks: int = 2,
                 frozen: bool = True) -> None:
        super().__init__(frozen=frozen)
        check_residual_schedule(patch_nums, patch_nums[-1])
        self.vocab_size = vocab_size
        self.embed_dim = z_channels
        self.downsample = 2 ** (len(ch_mult) - 1)
        self.patch_nums = tuple(int(pn) for pn in patch_nums)
        self.encoder = VAREncoder(ch, z_channels, ch_mult=ch_mult, num_res_blocks=num_res_blocks)
        self.decoder = VARDecoder(ch, z_channels, ch_mult=ch_mult, num_res_blocks=num_res_blocks)
        self.quantize = ResidualQuantizer(vocab_size, z_channels, share_quant_resi, quant_resi)
        self.quant_conv = nn.Conv2d(z_channels, z_channels, kernel_size=3, stride=1, padding=1)
        self.post_quant_conv = nn.Conv2d(z_channels, z_channels, kernel_size=3, stride=1,
                                         padding=1)
        if frozen:
            self.freeze()

    @property
    def latent_side(self) -> int:
        """Side of the latent the tokenizer serves: ``patch_nums[-1]``."""
        return self.patch_nums[-1]

    def _check_schedule(self, patch_nums: Sequence[int]) -> None:
        check_residual_schedule(patch_nums, self.latent_side)

    def encode_latent(self, img: torch.Tensor) -> torch.Tensor:
        """Continuous latent ``quant_conv(encoder(img))``: (B, 3, H, W) -> (B, Cvae, h, w)."""
        return self.quant_conv(self.encoder(img))

    def decode_fhat(self, f_hat: torch.Tensor) -> torch.Tensor:
        """Raw decoder output of a latent: (B, Cvae, h, h) -> (B, 3, H, W), about [-1, 1]."""
        return self.decoder(self.post_quant_conv(f_hat))

    def fhat_to_img(self, f_hat: torch.Tensor) -> torch.Tensor:
        """Image of a latent: (B, Cvae, h, h) -> (B, 3, H, W) clamped to [-1, 1]."""
        return self.decode_fhat(f_hat).clamp_(-1, 1)

    @torch.no_grad()
    def latent_to_idx(self, latent: torch.Tensor, patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Residual multi-scale tokens of a latent (``VQVAE.img_to_idxBl`` after encoding).

        Args:
            latent (Tensor): (B, Cvae, h, h) with ``h == patch_nums[-1]``.
            patch_nums: the schedule.

        Returns:
            list[Tensor]: one (B, pn * pn) int64 tensor per scale.
        """
        self._check_latent(latent, patch_nums)
        idx_list, _ = self.quantize.residual_encode(latent.float(), patch_nums)
        return idx_list

    def _check_latent(self, latent: torch.Tensor, patch_nums: Sequence[int]) -> None:
        """Raise unless ``patch_nums`` and the (B, Cvae, h, w) latent fit this tokenizer."""
        self._check_schedule(patch_nums)
        if latent.shape[-1] != self.latent_side or latent.shape[-2] != self.latent_side:
            raise ValueError(f'a {tuple(latent.shape[-2:])} latent (images of '
                             f'{latent.shape[-2] * self.downsample}x'
                             f'{latent.shape[-1] * self.downsample} px) does not fit this '
                             f'tokenizer, which serves {self.latent_side}x{self.latent_side} '
                             f'(schedule {list(patch_nums)})')

    @torch.no_grad()
    def img_to_idx(self, img: torch.Tensor, patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Residual multi-scale tokens (``VQVAE.img_to_idxBl``).

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1], ``H / downsample == patch_nums[-1]``.
            patch_nums: the schedule.

        Returns:
            list[Tensor]: one (B, pn * pn) int64 tensor per scale.
        """
        self._check_schedule(patch_nums)
        return self.latent_to_idx(self.encode_latent(img.float()), patch_nums)

    @torch.no_grad()
    def known_tokens(self, img: torch.Tensor, regenerate_per_scale: Sequence[torch.Tensor],
                     patch_nums: Sequence[int]) -> ResidualKnownTokens:
        """What zero-shot editing keeps of ``img``: its latent, the kept tokens being
        computed while sampling from the residual of the tokens used (docs/method.md §5.4).

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1], ``H / downsample == patch_nums[-1]``.
            regenerate_per_scale: one (B, pn ** 2) bool map per scale, True = sample.
            patch_nums: the schedule.

        Returns:
            ResidualKnownTokens: the (B, Cvae, h, h) float32 latent and the maps.
        """
        latent = self.encode_latent(img.float()).float()
        self._check_latent(latent, patch_nums)
        return ResidualKnownTokens(latent, list(regenerate_per_scale), self.quantize)

    @torch.no_grad()
    def idx_to_next_inputs(self, idx_list: Sequence[torch.Tensor],
                           patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forcing inputs (``idxBl_to_var_input``, docs/method.md §7.10).

        Block ``k`` is ``area(f_hat_{k-1} -> pn_k)`` of the cumulative ``f_hat`` after
        scales ``0..k-1``.

        Args:
            idx_list: one (B, pn * pn) tensor per scale; at least ``len(patch_nums) - 1``.
            patch_nums: the schedule.

        Returns:
            Tensor: (B, L - 1, Cvae) float32.
        """
        self._check_schedule(patch_nums)
        SN = len(patch_nums)
        if len(idx_list) < SN - 1:
            raise ValueError(f'need token maps of the first {SN - 1} scales, got {len(idx_list)}')
        fhat_list = self.quantize.idx_to_fhat(list(idx_list)[:SN - 1], patch_nums)
        blocks = [self.quantize.next_input(f_hat, si, patch_nums)
                  for si, f_hat in enumerate(fhat_list)]
        return torch.cat(blocks, dim=1)  # (B, L - 1, Cvae)

    @torch.no_grad()
    def ar_next_input(self, idx: torch.Tensor, si: int, patch_nums: Sequence[int],
                      state: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """One sampling step (``get_next_autoregressive_input``).

        Args:
            idx (Tensor): (B, pn_si ** 2) tokens of scale ``si`` (``si < len - 1``).
            si (int): scale index.
            patch_nums: the schedule.
            state (Tensor | None): accumulated ``f_hat`` (B, Cvae, H, H) of scales
                ``< si``; ``None`` at ``si == 0``.

        Returns:
            tuple: the (B, pn_{si+1} ** 2, Cvae) input and the new ``f_hat``.
        """
        self._check_schedule(patch_nums)
        if not 0 <= si < len(patch_nums) - 1:
            raise ValueError(f'ar_next_input needs 0 <= si < {len(patch_nums) - 1}, got {si}')
        h_BChw = self.quantize.scale_residual(idx, si, patch_nums)  # (B, Cvae, H, H)
        f_hat = h_BChw if state is None else state + h_BChw
        return self.quantize.next_input(f_hat, si, patch_nums), f_hat

    @torch.no_grad()
    def decode_idx(self, idx_list: Sequence[torch.Tensor], patch_nums: Sequence[int],
                   all_scales: bool = False) -> List[torch.Tensor]:
        """Decode the cumulative ``f_hat`` (``idxBl_to_img(same_shape=True)``).

        Args:
            idx_list: one (B, pn * pn) tensor per scale of ``patch_nums``.
            patch_nums: the schedule.
            all_scales (bool): decode ``f_hat`` after every scale, not only the last.

        Returns:
            list[Tensor]: (B, 3, H, W) images clamped to [-1, 1], one per scale if
            ``all_scales`` else only the final image.
        """
        self._check_schedule(patch_nums)
        if len(idx_list) != len(patch_nums):
            raise ValueError(f'decode_idx needs one token map per scale ({len(patch_nums)}), '
                             f'got {len(idx_list)}')
        fhat_list = self.quantize.idx_to_fhat(idx_list, patch_nums)
        if not all_scales:
            fhat_list = fhat_list[-1:]
        return [self.fhat_to_img(f_hat) for f_hat in fhat_list]
