"""Training wrapper of a multi-scale VQ tokenizer for the Runner.

Both tokenizer families train as VQ autoencoders without the perceptual and
adversarial terms, with the straight-through quantisers of
:mod:`sar_mm.models.tokenizers.straight_through`:

* ``FlexVQVAE`` as a plain single-scale VQ autoencoder on the full latent
  (LlamaGen VQ training): encode, L2-normalise, pick the nearest normalised
  code, decode. The multi-scale token maps a generator uses are area-pooled
  versions of that same latent, so nothing scale-specific is trained.
* VAR's ``MultiScaleVQVAE`` with residual quantisation over the tokenizer's
  schedule and one codebook shared by all scales (VAR ``VectorQuantizer2``).

The tokenizer is the child ``tokenizer``: the checkpoint's keys are
``tokenizer.*``, exactly the tokenizer part of a ``ScaleWiseAR`` state dict,
so a generator config can start from it with ``load_from`` (``backbone.*`` is
reported missing and keeps its initialisation).

The codebook-health hooks (``CodebookUsageHook``, ``CodebookInitHook``,
``DeadCodeRestartHook``, ``HeldOutReconstructionHook``) work through
:attr:`VQTokenizerTrainer.last_matched`, :meth:`VQTokenizerTrainer.match_codes`,
:attr:`VQTokenizerTrainer.codebook` and :meth:`VQTokenizerTrainer.reconstruct_scales`.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from sar_mm.registry import LOSSES, MODELS, TOKENIZERS
from ..data_preprocessors import build_data_preprocessor
from ..tokenizers.l2norm_quantizer import L2NormQuantizer
from ..tokenizers.residual_quantizer import ResidualQuantizer
from ..tokenizers.straight_through import QuantizedLatent, quantize_straight_through
from .scale_wise_ar import to_uint8_images

__all__ = ['VQTokenizerTrainer']

#: per scale, the indices (B, pn * pn) and the vectors (B * pn * pn, C) they were matched to
MatchedCodes = Tuple[List[torch.Tensor], List[torch.Tensor]]


@MODELS.register_module()
class VQTokenizerTrainer(BaseModel):
    """Trains a ``FlexVQVAE`` or ``MultiScaleVQVAE`` tokenizer as a VQ autoencoder.

    Modes: ``'loss'`` returns ``loss_rec``, ``loss_codebook``, ``loss_commit``
    and the logged ``codebook_usage`` (percentage of the ``V`` codes used by
    the batch, over all scales); ``'predict'`` returns one dict per image with
    the uint8 reconstruction ``rec_img`` (3, H, W) and ``label``; ``'tensor'``
    returns the reconstructions (B, 3, H, W) in about [-1, 1].

    Args:
        tokenizer (dict | nn.Module): a tokenizer of ``TOKENIZERS`` whose
            ``quantize`` is an ``L2NormQuantizer`` (``FlexVQVAE``) or a
            ``ResidualQuantizer`` (``MultiScaleVQVAE``, trained on its
            ``patch_nums``); built with ``frozen=False`` when a dict.
        codebook_init_std (float, optional): re-initialise the codebook from a
            truncated normal of this std (VAR ``VectorQuantizer2.eini`` > 0), so
            that the codes start at the latent's scale; ``None`` keeps the
            tokenizer's initialisation (``nn.Embedding``: N(0, 1), which leaves
            most of a small residual codebook dead). The codebook-health hooks
            (docs/tokenizer_training.md) initialise from encoder outputs instead.
        loss (dict | nn.Module, optional): ``LOSSES``; default ``VQLoss``.
        data_preprocessor (dict | nn.Module, optional): default
            ``GeneratorDataPreprocessor`` (images to [-1, 1]).
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self,
                 tokenizer: Union[dict, nn.Module],
                 codebook_init_std: Optional[float] = None,
                 loss: Optional[Union[dict, nn.Module]] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=build_data_preprocessor(data_preprocessor),
                         init_cfg=init_cfg)
        if isinstance(tokenizer, dict):
            tokenizer = TOKENIZERS.build(dict(tokenizer, frozen=False))
        if tokenizer.frozen:
            raise ValueError('VQTokenizerTrainer needs a tokenizer built with frozen=False')
        if not isinstance(tokenizer.quantize, (L2NormQuantizer, ResidualQuantizer)):
            raise TypeError(f'VQTokenizerTrainer trains tokenizers with an L2NormQuantizer or a '
                            f'ResidualQuantizer, got {type(tokenizer.quantize).__name__}')
        self.tokenizer = tokenizer
        if codebook_init_std is not None:
            if codebook_init_std <= 0:
                raise ValueError(f'codebook_init_std must be positive, got {codebook_init_std}')
            nn.init.trunc_normal_(self.codebook.weight, std=codebook_init_std)
        loss = loss if loss is not None else dict(type='VQLoss')
        self.loss_module = LOSSES.build(loss) if isinstance(loss, dict) else loss
        #: codes matched by the last ``'loss'`` call (read by the codebook-health hooks)
        self.last_matched: Optional[MatchedCodes] = None

    @property
    def codebook(self) -> nn.Embedding:
        """The (V, C) codebook; one table shared by every scale."""
        return self.tokenizer.quantize.embedding

    @property
    def codebook_l2_normalized(self) -> bool:
        """Whether codes are looked up by direction only (``FlexVQVAE``)."""
        return isinstance(self.tokenizer.quantize, L2NormQuantizer)

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

    def _quantize(self, latent: torch.Tensor) -> QuantizedLatent:
        return quantize_straight_through(self.tokenizer.quantize, latent,
                                         getattr(self.tokenizer, 'patch_nums', ()))

    def reconstruct(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, QuantizedLatent]:
        """Encode, quantise (straight-through) and decode.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].

        Returns:
            tuple: reconstruction (B, 3, H, W) and the :class:`QuantizedLatent`.
        """
        quantized = self._quantize(self.tokenizer.encode_latent(inputs))
        # both families: decoder(post_quant_conv(codes)), unclamped while training
        rec = self.tokenizer.decoder(self.tokenizer.post_quant_conv(quantized.z_st))
        return rec, quantized

    def loss(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss terms of one batch and the codebook usage.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
        """
        rec, quantized = self.reconstruct(inputs)
        losses = self.loss_module(rec, inputs, quantized.z, quantized.z_q)
        self.last_matched = (quantized.idx, quantized.vectors)
        used = torch.cat([idx.flatten() for idx in quantized.idx]).unique().numel()
        losses['codebook_usage'] = torch.tensor(100.0 * used / self.codebook.num_embeddings,
                                                device=inputs.device)
        return losses

    @torch.no_grad()
    def match_codes(self, inputs: torch.Tensor) -> MatchedCodes:
        """The codes of a batch and the vectors they were matched to, without training.

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
        """
        quantized = self._quantize(self.tokenizer.encode_latent(inputs))
        return quantized.idx, quantized.vectors

    @torch.no_grad()
    def reconstruct_scales(self, inputs: torch.Tensor,
                           patch_nums: Sequence[int]) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        """Reconstruction of every scale of a schedule, with the image it should match.

        ``FlexVQVAE``: scale ``pn`` decodes alone to ``pn * downsample`` px and is
        compared with the area-resized input; ``MultiScaleVQVAE``: the cumulative
        ``f_hat`` after each scale decodes to the full image. Both go through the
        tokenizer's inference path (``img_to_idx`` / ``decode_idx``).

        Args:
            inputs (Tensor): (B, 3, H, W) in [-1, 1].
            patch_nums: the schedule (for VAR, ending at the latent side).

        Returns:
            list[tuple]: per scale, the reconstruction clamped to [-1, 1] and the
            target, both (B, 3, h, w).
        """
        idx = self.tokenizer.img_to_idx(inputs, patch_nums)
        recs = self.tokenizer.decode_idx(idx, patch_nums, all_scales=True)
        out = []
        for rec in recs:
            size = rec.shape[-2:]
            target = inputs if size == inputs.shape[-2:] else F.interpolate(
                inputs, size=size, mode='area')
            out.append((rec.float().clamp(-1, 1), target.float()))
        return out

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
