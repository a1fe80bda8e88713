"""Training wrapper of VAR's multi-scale residual tokenizer (``MultiScaleVQVAE``).

The residual counterpart of :class:`VQTokenizerTrainer` (same modes, loss and
checkpoint keys ``tokenizer.*``), for toy tokenizers: encode, quantise the
latent residually over the tokenizer's schedule (docs/method.md §7.8-7.10,
VAR ``models/quant.py: VectorQuantizer2.forward``), decode the straight-through
``f_hat`` and minimise :class:`~sar_mm.models.losses.VQLoss`. One departure
from VAR's quantiser loss: the codebook and commitment terms compare the
latent with the final ``f_hat`` only, where VAR averages them over the
cumulative ``f_hat`` of every scale. VAR released no tokenizer training
recipe; this wrapper serves the toy only.
"""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn

from sar_mm.registry import MODELS
from ..tokenizers.residual_quantizer import ResidualQuantizer
from .vq_tokenizer_trainer import VQTokenizerTrainer

__all__ = ['ResidualVQTokenizerTrainer', 'residual_quantize_straight_through']


def residual_quantize_straight_through(
        latent: torch.Tensor, quantizer: ResidualQuantizer,
        patch_nums: List[int]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Residual multi-scale quantisation with the straight-through estimator.

    The token maps are VAR's residual encoding of the latent (no gradient);
    ``f_hat`` is rebuilt from them through the codebook and the φ convs, so
    the codebook loss reaches both; the decoder input ``f + sg(f_hat - f)``
    has the value ``f_hat`` and passes the gradient to the encoder unchanged.
    Runs in float32 with autocast off.

    Args:
        latent (Tensor): (B, C, H, H) encoder output after ``quant_conv``.
        quantizer (ResidualQuantizer): the tokenizer's ``quantize``.
        patch_nums: the residual schedule, ending at ``H``.

    Returns:
        tuple: ``f_st`` (B, C, H, H) decoder input, ``f`` (B, C, H, H) the
        latent, ``f_hat`` (B, C, H, H) in the codebook's graph, ``idx``
        (B, L) int64 token maps of every scale, concatenated.
    """
    with torch.autocast(latent.device.type, enabled=False):
        f = latent.float()
        idx_list, _ = quantizer.residual_encode(f.detach(), patch_nums)
        f_hat = quantizer.idx_to_fhat(idx_list, patch_nums)[-1]  # (B, C, H, H)
        f_st = f + (f_hat - f).detach()
    return f_st, f, f_hat, torch.cat(idx_list, dim=1)


@MODELS.register_module()
class ResidualVQTokenizerTrainer(VQTokenizerTrainer):
    """Trains a ``MultiScaleVQVAE`` as a residual VQ autoencoder on its schedule.

    Args:
        tokenizer (dict | nn.Module): a ``MultiScaleVQVAE`` (its ``patch_nums``
            is the schedule trained); built with ``frozen=False`` when a dict.
        codebook_init_std (float, optional): re-initialise the codebook from a
            truncated normal of this std (VAR ``VectorQuantizer2.eini`` > 0); codes
            of the latent's scale stay in use, where ``nn.Embedding``'s N(0, 1)
            leaves most of a small codebook dead. ``None`` keeps N(0, 1).
        loss, data_preprocessor, init_cfg: as :class:`VQTokenizerTrainer`.
    """

    def __init__(self,
                 tokenizer: Union[dict, nn.Module],
                 codebook_init_std: Optional[float] = None,
                 loss: Optional[Union[dict, nn.Module]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(tokenizer=tokenizer, loss=loss, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if codebook_init_std is not None:
            if codebook_init_std <= 0:
                raise ValueError(f'codebook_init_std must be positive, got {codebook_init_std}')
            nn.init.trunc_normal_(self.tokenizer.quantize.embedding.weight, std=codebook_init_std)

    def reconstruct(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                         torch.Tensor, torch.Tensor]:
        """Encode, quantise residually (straight-through) and decode.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            tuple: the raw decoder output (B, 3, H, W), ``f`` and ``f_hat``
            (B, C, h, h), the token maps (B, L)
            (see :func:`residual_quantize_straight_through`).
        """
        latent = self.tokenizer.encode_latent(inputs)  # (B, C, h, h)
        f_st, f, f_hat, idx = residual_quantize_straight_through(
            latent, self.tokenizer.quantize, list(self.tokenizer.patch_nums))
        return self.tokenizer.decode_fhat(f_st), f, f_hat, idx
