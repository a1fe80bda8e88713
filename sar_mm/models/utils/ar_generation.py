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

from .known_tokens import KnownTokens
from .sampling import cfg_strength, greedy_from_logits, mix_cfg_logits, sample_from_logits

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
            from which each scale was drawn (before top-k / top-p filtering).
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
                            patch_nums: Sequence[int],
                            cfg: float = 1.5,
                            cfg_schedule: str = 'var',
                            top_k: int = 0,
                            top_p: float = 0.0,
                            generator: Union[None, torch.Generator,
                                             Sequence[torch.Generator]] = None,
                            max_pn: Optional[int] = None,
                            greedy_outside: Optional[Sequence[int]] = None,
                            greedy: bool = False,
                            return_logits: bool = False,
                            return_scale_images: bool = False,
                            known: Optional[KnownTokens] = None) -> ARGenerationOutput:
    """Sample token maps scale by scale with a KV cache, then decode them.

    For every scale ``si`` of ``patch_nums``: run the block through the cached
    backbone on the ``[cond; uncond]`` batch, mix the two halves with
    :func:`~sar_mm.models.utils.sampling.mix_cfg_logits` at strength
    :func:`~sar_mm.models.utils.sampling.cfg_strength`, draw tokens, and embed
    the tokenizer's next-scale input for both halves.

    Args:
        backbone: a ``BaseScaleTransformer`` in eval mode.
        tokenizer: a ``BaseMultiScaleTokenizer``.
        label_B (Tensor): (B,) int64 class ids; ``num_classes`` is unconditional.
        patch_nums: the schedule to generate (any schedule the backbone accepts).
        cfg (float): guidance scale.
        cfg_schedule (str): ``'var'``, ``'flexvar'``, ``'llamagen'`` or ``'sar_rollout'``.
        top_k (int): top-k of the sampler, ``0`` disables.
        top_p (float): nucleus mass of the sampler, ``0`` disables.
        generator: RNG for the draws, on the device of the backbone: one
            generator for the batch, or one per row (see
            :func:`~sar_mm.models.utils.sampling.sample_from_logits`).
        max_pn (int, optional): scales larger than this are drawn with
            ``top_k=1`` (and, for ``'flexvar'``, get the full ``cfg``).
        greedy_outside (sequence of int, optional): scales outside this set are
            drawn with ``top_k=1``; FlexVAR uses :data:`FLEXVAR_SAMPLED_SCALES`.
            ``None`` samples every scale alike.
        greedy (bool): take the arg-max everywhere instead of sampling (no RNG).
        return_logits (bool): keep the guided logits of every scale.
        return_scale_images (bool): also decode every scale's map separately.
        known (KnownTokens, optional): zero-shot image-to-image sampling
            (docs/method.md §5.4): after each scale is drawn as usual, the cells
            not marked for regeneration take the known tokens, and the next
            input is built from the merged map. ``None`` is ordinary sampling.

    Returns:
        ARGenerationOutput: token maps, final image and the optional extras.
    """
    B = label_B.shape[0]
    num_classes = backbone.num_classes
    labels_2B = torch.cat((label_B, torch.full_like(label_B, num_classes)))  # (2B,)
    sampled_scales = None if greedy_outside is None else set(greedy_outside)
    if known is not None:
        known.check(B, patch_nums)

    idx_per_scale: List[torch.Tensor] = []
    logits_per_scale: List[torch.Tensor] = []
    x_BlC = backbone.ar_begin(labels_2B, patch_nums)  # (2B, first_l, C)
    state = None
    try:
        for si, pn in enumerate(patch_nums):
            logits_2BlV = backbone.ar_step(x_BlC, labels_2B)  # (2B, pn*pn, V)
            t = cfg_strength(cfg_schedule, cfg, si, patch_nums, max_pn)
            logits_BlV = mix_cfg_logits(logits_2BlV[:B], logits_2BlV[B:], t, cfg_schedule)
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
                idx_Bl = known.merge(si, idx_Bl)
            idx_per_scale.append(idx_Bl)
            if si < len(patch_nums) - 1:
                next_BlCv, state = tokenizer.ar_next_input(idx_Bl, si, patch_nums, state)
                x_BlC = backbone.ar_embed(next_BlCv, si + 1, patch_nums)  # (B, l, C)
                x_BlC = x_BlC.repeat(2, 1, 1)  # (2B, l, C): same input for both CFG halves
    finally:
        backbone.ar_end()

    images = tokenizer.decode_idx(idx_per_scale, patch_nums, all_scales=return_scale_images)
    return ARGenerationOutput(
        idx_per_scale=idx_per_scale,
        image=images[-1],
        logits_per_scale=logits_per_scale if return_logits else None,
        scale_images=images if return_scale_images else None)
