"""Zero-shot image-to-image with a class-conditional next-scale generator.

``edit_images`` is the channel-last uint8 counterpart of
:meth:`ScaleWiseAR.edit <sar_mm.models.generators.ScaleWiseAR.edit>`, as
:func:`~sar_mm.apis.sample_images` is of ``generate``: in-painting,
out-painting / expansion, class-conditional editing and refinement
(docs/method.md §5.4). ``edit_grid`` lays out inputs, their masks and results.
The masks and canvases themselves come from :mod:`sar_mm.utils.edit_canvas`.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from sar_mm.models.data_preprocessors import to_symmetric_range
from sar_mm.models.generators import ScaleWiseAR
from sar_mm.models.generators.scale_wise_ar import check_class_labels
from sar_mm.utils.image_grid import tile_samples
from .inference import Images, _channels_last
from .whole_numbers import as_label_tensor, as_seed_list

__all__ = ['edit_images', 'as_binary_masks', 'known_region', 'edit_grid']

#: Grey of the regenerated pixels in :func:`known_region`.
HIDDEN_GREY = 128


def as_binary_masks(masks: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    """Masks as a bool tensor; bool input as is, numbers only if every value is 0 or 1.

    Raises:
        ValueError: naming the values that are neither 0 nor 1.
    """
    masks = torch.as_tensor(np.asarray(masks) if not torch.is_tensor(masks) else masks)
    if masks.dtype == torch.bool:
        return masks
    values = torch.unique(masks)
    bad = values[(values != 0) & (values != 1)]
    if bad.numel():
        raise ValueError(f'masks must be binary (True or 1 = regenerate, False or 0 = keep); '
                         f'found the values {bad[:10].tolist()}')
    return masks != 0


def edit_images(generator: ScaleWiseAR,
                images: Images,
                masks: Optional[Union[np.ndarray, torch.Tensor]],
                labels: Optional[Union[int, Sequence[int], torch.Tensor]] = None,
                seeds: Optional[Sequence[int]] = None,
                keep_scales: int = 0,
                seed: int = 0,
                return_scale_images: bool = False,
                as_numpy: bool = True,
                edit_protocol: str = 'coherent',
                **sampling_overrides) -> Union[Images, Tuple[Images, List[Images]]]:
    """Regenerate the masked part of images, keeping the rest (``ScaleWiseAR.edit``).

    At every scale the tokens outside the mask (resampled to the scale's grid:
    a token is regenerated when any pixel feeding it is masked) are the input
    image's, the others are sampled with the usual guidance, top-k and top-p.
    Seeds work as in :func:`~sar_mm.apis.sample_images`: with ``seeds``, image
    ``i`` draws from its own generator seeded with ``seeds[i]``; otherwise the
    batch draws from one generator seeded with ``seed``.

    Args:
        generator (ScaleWiseAR): e.g. from :func:`~sar_mm.apis.init_generator`.
        images: uint8 (B, H, W, 3), as :func:`~sar_mm.apis.sample_images`
            returns them; ``H == W ==`` last scale x tokenizer downsample.
        masks: (B, H, W), True (or 1) = regenerate, False (or 0) = keep;
            ``None`` regenerates everything (with ``keep_scales``: refinement).
        labels: one class id for all images, or one per image, in
            ``[0, num_classes]`` (``num_classes`` is the unconditional class);
            ``None`` (in-painting) is the unconditional class, as in VAR's
            notebook. Class-conditional editing names the new class.
        seeds: one seed per image, or ``None``.
        keep_scales (int): keep every token of the first ``keep_scales`` scales
            (refinement); all scales returns the reconstruction.
        seed (int): the batch seed when ``seeds`` is ``None``.
        return_scale_images (bool): also return every scale's decoded image.
        as_numpy (bool): NumPy arrays instead of CPU tensors.
        edit_protocol (str): ``'coherent'`` or ``'var_notebook'``
            (:data:`~sar_mm.models.generators.scale_wise_ar.EDIT_PROTOCOLS`).
        **sampling_overrides: ``test_cfg`` overrides of ``ScaleWiseAR.generate``
            (``cfg``, ``top_k``, ``top_p``, ``patch_nums``, ``cfg_schedule``, ...).

    Returns:
        uint8 (B, H, W, 3); with ``return_scale_images`` a tuple of it and a
        list with one uint8 (B, h_k, w_k, 3) per scale.

    Raises:
        ValueError: images that are not uint8 (B, H, W, 3), masks of another
            size or not binary, labels out of range, a wrong number of labels
            or seeds, a schedule the tokenizer cannot serve at this size.
    """
    images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images)
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[-1] != 3:
        raise ValueError(f'images must be uint8 (B, H, W, 3), got {images.dtype} '
                         f'{tuple(images.shape)}')
    B = images.shape[0]
    masks = (torch.ones(images.shape[:3], dtype=torch.bool) if masks is None
             else as_binary_masks(masks))
    if tuple(masks.shape) != tuple(images.shape[:3]):
        raise ValueError(f'masks of shape {tuple(masks.shape)} do not match the images '
                         f'{tuple(images.shape)}: expected (B, H, W) = {tuple(images.shape[:3])}')
    if labels is None:
        labels = generator.backbone.num_classes
    labels = as_label_tensor(labels)
    if labels.numel() == 1:
        labels = labels.expand(B)
    if labels.numel() != B:
        raise ValueError(f'got {labels.numel()} labels for {B} images')
    check_class_labels(labels, generator.backbone.num_classes, allow_unconditional=True)
    seeds = as_seed_list(seeds, B)
    device = next(generator.backbone.parameters()).device
    rng = None if seeds is not None else torch.Generator(device=device).manual_seed(seed)
    inputs = to_symmetric_range(images.permute(0, 3, 1, 2))  # (B, 3, H, W) in [-1, 1]
    out = generator.edit(inputs, masks, labels, seeds=seeds, generator=rng,
                         keep_scales=keep_scales, return_scale_images=return_scale_images,
                         edit_protocol=edit_protocol, **sampling_overrides)
    edited = _channels_last(out['images'], as_numpy)
    if not return_scale_images:
        return edited
    return edited, [_channels_last(s, as_numpy) for s in out['scale_images']]


def known_region(images: Images, masks: Union[np.ndarray, torch.Tensor]) -> np.ndarray:
    """What the sampler keeps: the images with the regenerated pixels grey.

    Args:
        images: uint8 (N, H, W, 3).
        masks: (N, H, W) binary, True = regenerate.

    Returns:
        np.ndarray: uint8 (N, H, W, 3).
    """
    keep = ~as_binary_masks(masks).numpy()[..., None]
    return np.where(keep, np.asarray(images), np.uint8(HIDDEN_GREY)).astype(np.uint8)


def edit_grid(images: Images, masks: Union[np.ndarray, torch.Tensor], results: Images,
              padding: int = 2) -> np.ndarray:
    """One row per input: the input, its known region (:func:`known_region`), its results.

    Args:
        images: uint8 (N, H, W, 3) inputs.
        masks: (N, H, W) binary, True = regenerate.
        results: uint8 (N, R, H, W, 3), ``R`` results per input.
        padding (int): white pixels between images.

    Returns:
        np.ndarray: uint8 (H', W', 3).
    """
    images, results = np.asarray(images), np.asarray(results)
    if results.ndim != 5 or results.shape[0] != images.shape[0]:
        raise ValueError(f'results must be (N, R, H, W, 3) for {images.shape[0]} inputs, got '
                         f'{results.shape}')
    rows = np.concatenate([images[:, None], known_region(images, masks)[:, None], results],
                          axis=1)  # (N, 2 + R, H, W, 3)
    tiles = torch.from_numpy(rows.reshape(-1, *rows.shape[2:])).permute(0, 3, 1, 2)
    return tile_samples(tiles, nrow=rows.shape[1], padding=padding)
