"""FlexVAR's multi-scale tokenizer: the LlamaGen VQ-16 autoencoder, used without residuals.

FlexVAR ``models/vq_llama.py`` and ``trainer.py: encode_var_wo_firstL``
(docs/method.md §4.2, §7.14-7.16 and §7.19): the continuous latent
``quant_conv(encoder(img))`` is area-resized to every scale of the schedule and
each scale is quantised **independently** against the L2-normalised codebook.
The teacher-forcing input of scale ``i + 1`` is the bicubic up-sampling of the
normalised code map of scale ``i``; any schedule whose last scale is at most the
latent side works. Decoding returns the raw decoder output (not clamped).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from sar_mm.registry import TOKENIZERS
from .base_tokenizer import BaseMultiScaleTokenizer
from .l2norm_quantizer import L2NormQuantizer
from .vq16_decoder import VQ16Decoder
from .vq16_encoder import VQ16Encoder

__all__ = ['FlexVQVAE']


@TOKENIZERS.register_module()
class FlexVQVAE(BaseMultiScaleTokenizer):
    """FlexVAE (LlamaGen VQ-16, ``V = 8912``, ``Cvae = 32``) as a multi-scale tokenizer.

    Args:
        ch (int): base width of encoder and decoder.
        z_channels (int): autoencoder bottleneck channels.
        ch_mult (sequence of int): width multiplier per level; the latent is
            ``2 ** (len(ch_mult) - 1)`` times smaller than the image.
        num_res_blocks (int): encoder res blocks per level (decoder: one more).
        vocab_size (int): codebook size ``V``.
        embed_dim (int): code dimension ``Cvae``.
        in_channels (int): image channels.
        dropout (float): dropout inside the res blocks.
        usage_buffer_size (int): length of the quantiser's ``codebook_used`` buffer.
        frozen (bool): keep in eval mode without gradients.
    """

    def __init__(self,
                 ch: int = 128,
                 z_channels: int = 256,
                 ch_mult: Sequence[int] = (1, 1, 2, 2, 4),
                 num_res_blocks: int = 2,
                 vocab_size: int = 8912,
                 embed_dim: int = 32,
                 in_channels: int = 3,
                 dropout: float = 0.0,
                 usage_buffer_size: int = 65536,
                 frozen: bool = True) -> None:
        super().__init__(frozen=frozen)
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.downsample = 2**(len(ch_mult) - 1)
        self.encoder = VQ16Encoder(in_channels, ch, ch_mult, num_res_blocks, z_channels, dropout)
        self.decoder = VQ16Decoder(z_channels, ch, ch_mult, num_res_blocks, in_channels, dropout)
        self.quantize = L2NormQuantizer(vocab_size, embed_dim, usage_buffer_size)
        self.quant_conv = nn.Conv2d(z_channels, embed_dim, kernel_size=1)
        self.post_quant_conv = nn.Conv2d(embed_dim, z_channels, kernel_size=1)
        if frozen:
            self.freeze()

    # --- encoding ------------------------------------------------------------------------
    def encode_latent(self, img: torch.Tensor) -> torch.Tensor:
        """Continuous latent ``quant_conv(encoder(img))``.

        Args:
            img (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            Tensor: (B, Cvae, H / downsample, W / downsample).
        """
        return self.quant_conv(self.encoder(img))

    def latent_to_idx(self, latent: torch.Tensor, patch_nums: Sequence[int]) -> List[torch.Tensor]:
        """Quantise ``area(latent -> pn)`` independently for every scale.

        Args:
            latent (Tensor): (B, Cvae, h, w).
            patch_nums: the schedule; every scale must be at most ``min(h, w)``.

        Returns:
            list[Tensor]: one (B, pn * pn) int64 map per scale.
        """
        side = min(latent.shape[-2:])
        too_big = [pn for pn in patch_nums if pn > side]
        if too_big:
            raise ValueError(f'scales {too_big} of the schedule {list(patch_nums)} exceed the '
                             f'latent side {side}: use larger images or a smaller schedule')
        return [
            self.quantize.quantize(F.interpolate(latent, size=(pn, pn), mode='area'))
            for pn in patch_nums
        ]

    def idx_to_code_map(self, idx_Bl: torch.Tensor, pn: int) -> torch.Tensor:
        """Normalised code map (B, Cvae, pn, pn) of a (B, pn * pn) token map."""
        return self.quantize.lookup(idx_Bl, pn)

    def _upsample_flat(self, idx_Bl: torch.Tensor, pn: int, next_pn: int) -> torch.Tensor:
        """bicubic(code map pn -> next_pn), flattened to (B, next_pn ** 2, Cvae)."""
        code = self.idx_to_code_map(idx_Bl, pn)  # (B, Cvae, pn, pn)
        up = F.interpolate(code, size=(next_pn, next_pn), mode='bicubic')  # (B, Cvae, n, n)
        return rearrange(up, 'b c h w -> b (h w) c')  # (B, next_pn*next_pn, Cvae)

    def idx_to_next_inputs(self, idx_list: Sequence[torch.Tensor],
                           patch_nums: Sequence[int]) -> torch.Tensor:
        """Teacher-forcing inputs: ``bicubic(e(idx_i) -> pn_{i+1})`` for ``i < K - 1``.

        Args:
            idx_list: one (B, pn * pn) map per scale (the last may be omitted).
            patch_nums: the schedule.

        Returns:
            Tensor: (B, L - 1, Cvae).
        """
        blocks = [
            self._upsample_flat(idx_list[i], patch_nums[i], patch_nums[i + 1])
            for i in range(len(patch_nums) - 1)
        ]
        return torch.cat(blocks, dim=1)  # (B, L - 1, Cvae)

    def ar_next_input(self, idx: torch.Tensor, si: int, patch_nums: Sequence[int],
                      state: Optional[torch.Tensor]) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Input of scale ``si + 1`` from the tokens of scale ``si``; no state is carried.

        Returns:
            tuple: (B, pn_{si+1} ** 2, Cvae) input and ``None``.
        """
        return self._upsample_flat(idx, patch_nums[si], patch_nums[si + 1]), None

    # --- decoding ------------------------------------------------------------------------
    def decode_code_map(self, code_BChw: torch.Tensor) -> torch.Tensor:
        """Raw decoder output ``decoder(post_quant_conv(code))`` (not clamped).

        Args:
            code_BChw (Tensor): (B, Cvae, pn, pn).

        Returns:
            Tensor: (B, 3, pn * downsample, pn * downsample), about [-1, 1].
        """
        return self.decoder(self.post_quant_conv(code_BChw))

    def decode_idx(self, idx_list: Sequence[torch.Tensor], patch_nums: Sequence[int],
                   all_scales: bool = False) -> List[torch.Tensor]:
        """Decode the last scale's tokens, or every scale's tokens separately.

        Each scale is a complete coarse version of the image (no residuals), so
        every scale decodes on its own to a ``pn * downsample`` image.

        Args:
            idx_list: one (B, pn * pn) map per scale of ``patch_nums``.
            patch_nums: the schedule.
            all_scales (bool): decode every scale, not only the last.

        Returns:
            list[Tensor]: (B, 3, pn * downsample, pn * downsample) raw decoder
            outputs, one per scale or only the last.
        """
        if len(idx_list) != len(patch_nums):
            raise ValueError(f'got {len(idx_list)} token maps for {len(patch_nums)} scales')
        scales = range(len(patch_nums)) if all_scales else [len(patch_nums) - 1]
        return [self.decode_code_map(self.idx_to_code_map(idx_list[i], patch_nums[i]))
                for i in scales]
