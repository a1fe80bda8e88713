"""Training wrapper of a multi-scale VQ tokenizer (``FlexVQVAE``) for the Runner.

A tokenizer is trained as a plain single-scale VQ autoencoder on the full
latent (LlamaGen VQ training without the perceptual and adversarial terms):
encode, L2-normalise, pick the nearest normalised code, decode the
straight-through codes, and minimise :class:`~sar_mm.models.losses.VQLoss`.
The multi-scale token maps a generator uses are area-pooled versions of that
same latent, so nothing scale-specific is trained here.

The tokenizer is the child ``tokenizer``: the checkpoint's keys are
``tokenizer.*``, exactly the tokenizer part of a ``ScaleWiseAR`` state dict,
so a generator config can start from it with ``load_from`` (``backbone.*`` is
reported missing and keeps its initialisation).
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from sar_mm.registry import LOSSES, MODELS, TOKENIZERS
from ..data_preprocessors import build_data_preprocessor
from ..tokenizers.l2norm_quantizer import nearest_code_l2norm
from .scale_wise_ar import to_uint8_images

__all__ = ['VQTokenizerTrainer', 'l2norm_quantize_straight_through']


def l2norm_quantize_straight_through(
        latent: torch.Tensor,
        codebook: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantise against an L2-normalised codebook with the straight-through estimator.

    LlamaGen / FlexVAR ``VectorQuantizer`` with ``codebook_l2_norm=True``:
    ``z = normalize(latent)``, ``e = normalize(codebook)[argmin |z - e|]`` and
    the decoder input ``z + sg(e - z)``, whose value is ``e`` and whose
    gradient flows to ``z`` unchanged (van den Oord et al. 2017, section 3.2).
    The code search runs in float32 with autocast off.

    Args:
        latent (Tensor): (B, C, h, w) encoder output after ``quant_conv``.
        codebook (Tensor): (V, C) unnormalised codebook weights.

    Returns:
        tuple: ``z_st`` (B, C, h, w) straight-through codes (decoder input),
        ``z`` (B, C, h, w) normalised latent, ``z_q`` (B, C, h, w) selected
        normalised codes (in the codebook's graph), ``idx`` (B, h * w) int64.
    """
    B, C, h, w = latent.shape
    with torch.autocast(latent.device.type, enabled=False):
        z = F.normalize(latent.float(), p=2, dim=1)  # (B, C, h, w)
        z_NC = z.permute(0, 2, 3, 1).reshape(B * h * w, C)  # (B*h*w, C), row-major cells
        idx = nearest_code_l2norm(z_NC.detach(), codebook.detach().float())  # (B*h*w,)
        codes = F.normalize(codebook.float(), p=2, dim=-1)[idx]  # (B*h*w, C)
        z_q = codes.view(B, h, w, C).permute(0, 3, 1, 2)  # (B, C, h, w)
        z_st = z + (z_q - z).detach()
    return z_st, z, z_q, idx.view(B, h * w)


@MODELS.register_module()
class VQTokenizerTrainer(BaseModel):
    """Trains a ``FlexVQVAE``-style tokenizer as a VQ autoencoder.

    Modes: ``'loss'`` returns ``loss_rec``, ``loss_codebook``, ``loss_commit``
    and the logged ``codebook_usage`` (percentage of the ``V`` codes used by
    the batch); ``'predict'`` returns one dict per image with the uint8
    reconstruction ``rec_img`` (3, H, W) and ``label``; ``'tensor'`` returns
    the reconstructions (B, 3, H, W) in about [-1, 1].

    Args:
        tokenizer (dict | nn.Module): a tokenizer of ``TOKENIZERS`` with
            ``encode_latent``, ``decode_code_map`` and an L2-normalised
            ``quantize.embedding``; built with ``frozen=False`` when a dict.
        loss (dict | nn.Module, optional): ``LOSSES``; default ``VQLoss``.
        data_preprocessor (dict | nn.Module, optional): default
            ``GeneratorDataPreprocessor`` (images to [-1, 1]).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 tokenizer: Union[dict, nn.Module],
                 loss: Optional[Union[dict, nn.Module]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor),
                         init_cfg=init_cfg)
        if isinstance(tokenizer, dict):
            tokenizer = TOKENIZERS.build(dict(tokenizer, frozen=False))
        if tokenizer.frozen:
            raise ValueError('VQTokenizerTrainer needs a tokenizer built with frozen=False')
        self.tokenizer = tokenizer
        loss = loss if loss is not None else dict(type='VQLoss')
        self.loss_module = LOSSES.build(loss) if isinstance(loss, dict) else loss

    def forward(self, inputs: torch.Tensor, data_samples: Optional[dict] = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[dict], torch.Tensor]:
        """Dispatch on ``mode``.

        Args:
            inputs (Tensor): (B, 3, H, W) images in [-1, 1].
            data_samples (dict, optional): ``labels`` (B,) (reported by ``'predict'``).
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.reconstruct(inputs)[0]
        raise ValueError(f"invalid mode {mode!r}; expected 'loss', 'predict' or 'tensor'")

    def reconstruct(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor,
                                                         torch.Tensor, torch.Tensor]:
        """Encode, quantise (straight-through) and decode.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            tuple: reconstruction (B, 3, H, W), ``z`` and ``z_q`` (B, C, h, w)
            (see :func:`l2norm_quantize_straight_through`), ``idx`` (B, h * w).
        """
        latent = self.tokenizer.encode_latent(inputs)  # (B, C, h, w)
        z_st, z, z_q, idx = l2norm_quantize_straight_through(
            latent, self.tokenizer.quantize.embedding.weight)
        return self.tokenizer.decode_code_map(z_st), z, z_q, idx

    def loss(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss terms of one batch and the codebook usage.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
        """
        rec, z, z_q, idx = self.reconstruct(inputs)
        losses = self.loss_module(rec, inputs, z, z_q)
        vocab_size = self.tokenizer.quantize.embedding.num_embeddings
        losses['codebook_usage'] = torch.tensor(
            100.0 * idx.unique().numel() / vocab_size, device=inputs.device)
        return losses

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor, data_samples: Optional[dict] = None) -> List[dict]:
        """uint8 reconstructions, one dict per image.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
            data_samples (dict, optional): ``labels`` (B,).

        Returns:
            list[dict]: ``rec_img`` uint8 (3, H, W) on the CPU and ``label``
            (-1 when unknown).
        """
        rec = to_uint8_images(self.reconstruct(inputs)[0]).cpu()
        labels = None if data_samples is None else data_samples.get('labels')
        return [dict(rec_img=rec[i], label=-1 if labels is None else int(labels[i]))
                for i in range(rec.shape[0])]
