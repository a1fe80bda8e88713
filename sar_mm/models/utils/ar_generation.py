"""KV-cached next-scale sampling loop shared by every backbone/tokenizer pair.

Implements ``autoregressive_infer_cfg`` of VAR and FlexVAR (docs/method.md §5,
§7.7 and §7.19) against the interfaces of
:class:`~sar_mm.models.backbones.base_backbone.BaseScaleTransformer` and
:class:`~sar_mm.models.tokenizers.base_tokenizer.BaseMultiScaleTokenizer`:
classifier-free guidance runs on a doubled ``[cond; uncond]`` batch whose
unconditional half uses the label ``num_classes``.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import torch
from einops import rearrange, repeat

from .known_tokens import KnownTokens
from .sampling import greedy_from_logits, sample_from_logits
from .sampling_config import SamplingConfig

__all__ = ['FLEXVAR_SAMPLED_SCALES', 'ARGenerationOutput', 'autoregressive_generate']

#: Scales on which FlexVAR samples with the configured top-k; on every other
#: scale (and above ``max_pn``) it forces ``top_k=1`` (docs/method.md §7.19).
FLEXVAR_SAMPLED_SCALES = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 23, 24, 32)


@dataclass
class ARGenerationOutput:
    """Result of :func:`autoregressive_generate`.

    Attributes:
        idx_per_scale (list[Tensor]): one (B, pn ** 2) int64 map per scale.
        image (Tensor): (B, 3, H, W) decoded final image, in the value range of
            the tokenizer's ``decode_idx``.
        logits_per_scale (list[Tensor], optional): (B, pn ** 2, V) guided logits
            from which each scale was drawn (before top-k / top-p filtering), in
            the dtype guidance ran in.
        scale_images (list[Tensor], optional): one decoded image per scale; the
            last equals ``image``.
    """

    idx_per_scale: List[torch.Tensor]
    image: torch.Tensor
    logits_per_scale: Optional[List[torch.Tensor]] = None
    scale_images: Optional[List[torch.Tensor]] = None


@torch.no_grad()
def autoregressive_generate(backbone: torch.nn.Module,
                            tokenizer: torch.nn.Module,
                            label_B: torch.Tensor,
                            sampling: SamplingConfig,
                            generator: Union[None, torch.Generator,
                                             Sequence[torch.Generator]] = None,
                            return_logits: bool = False,
                            return_scale_images: bool = False,
                            known: Optional[KnownTokens] = None,
                            float32_logits: bool = True) -> ARGenerationOutput:
    """Sample token maps scale by scale with a KV cache, then decode them.

    For every scale ``si`` of ``sampling.patch_nums``: run the block through
    the cached backbone on the ``[cond; uncond]`` batch, mix the two halves with
    ``sampling.guidance`` (:class:`~sar_mm.models.utils.cfg_schedule.CFGSchedule`),
    draw tokens, and embed the tokenizer's next-scale input for both halves.

    Args:
        backbone: a ``BaseScaleTransformer`` in eval mode.
        tokenizer: a ``BaseMultiScaleTokenizer``.
        label_B (Tensor): (B,) int64 class ids; ``num_classes`` is unconditional.
        sampling (SamplingConfig): the schedule (any the backbone accepts),
            guidance and sampler settings.
        generator: RNG for the draws, on the device of the backbone: one
            generator for the batch, or one per row (see
            :func:`~sar_mm.models.utils.sampling.sample_from_logits`).
        return_logits (bool): keep the guided logits of every scale.
        return_scale_images (bool): also decode every scale's map separately.
        known (KnownTokens, optional): zero-shot image-to-image sampling
            (docs/method.md §5.4): after each scale is drawn as usual,
            ``known.merge`` gives the cells not marked for regeneration the
            input's tokens, threading its carry from scale to scale, and the
            next input is built from the merged map. VAR's tokenizer gives a
            ``ResidualKnownTokens`` (the same methods; its carry is the residual
            of the merged maps). ``None`` is ordinary sampling.
        float32_logits (bool): cast the logits to float32 before guidance
            (``SamplingNumerics.float32_logits``); ``False`` keeps the dtype of
            ``cache.step`` through guidance and the top-k / top-p filter, as the
            official samplers do under autocast.

    Returns:
        ARGenerationOutput: token maps, final image and the optional extras.
    """
    patch_nums, guidance = list(sampling.patch_nums), sampling.guidance
    top_k, top_p, max_pn = sampling.top_k, sampling.top_p, sampling.max_pn
    greedy = sampling.greedy
    B = label_B.shape[0]
    num_classes = backbone.num_classes
    labels_2B = torch.cat((label_B, torch.full_like(label_B, num_classes)))  # (2B,)
    sampled_scales = None if sampling.sampled_scales is None else set(sampling.sampled_scales)
    if known is not None:
        known.check(B, patch_nums)

    idx_per_scale: List[torch.Tensor] = []
    logits_per_scale: List[torch.Tensor] = []
    state = known_carry = None
    with backbone.kv_cache(labels_2B, patch_nums) as cache:
        x_BlC = cache.start()  # (2B, 1, C)
        for si, pn in enumerate(patch_nums):
            logits_2BlV = cache.step(x_BlC)  # (2B, pn*pn, V), the head's dtype
            if float32_logits:
                logits_2BlV = logits_2BlV.float()
            cond_BlV, uncond_BlV = rearrange(logits_2BlV, '(pair b) l v -> pair b l v', pair=2)
            logits_BlV = guidance.guide(cond_BlV, uncond_BlV, si, patch_nums)
            if return_logits:
                logits_per_scale.append(logits_BlV)
            if greedy:
                idx_Bl = greedy_from_logits(logits_BlV)
            else:
                force_top1 = ((max_pn is not None and pn > max_pn)
                              or (sampled_scales is not None and pn not in sampled_scales))
                idx_Bl = sample_from_logits(logits_BlV, 1 if force_top1 else top_k, top_p,
                                            generator)
            if known is not None:
                idx_Bl, known_carry = known.merge(si, idx_Bl, patch_nums, known_carry)
            idx_per_scale.append(idx_Bl)
            if si < len(patch_nums) - 1:
                next_BlCv, state = tokenizer.ar_next_input(idx_Bl, si, patch_nums, state)
                x_BlC = cache.embed(next_BlCv, si + 1)  # (B, l, C)
                # (2B, l, C): the same input for both CFG halves
                x_BlC = repeat(x_BlC, 'b l c -> (pair b) l c', pair=2)

    images = tokenizer.decode_idx(idx_per_scale, patch_nums, all_scales=return_scale_images)
    return ARGenerationOutput(
        idx_per_scale=idx_per_scale,
        image=images[-1],
        logits_per_scale=logits_per_scale if return_logits else None,
        scale_images=images if return_scale_images else None)
