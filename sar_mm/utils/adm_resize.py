"""ADM's resize of an image to a given short side (``guided_diffusion`` ``image_datasets.py``).

Used by the centre crop of reference images (``center_crop_arr``) and the
random crop of FlexVAR / SAR training (``random_crop_arr``, docs/method.md §4.2).
"""
import numpy as np
from PIL import Image

__all__ = ['adm_resize_short_side']


def adm_resize_short_side(pil_image: Image.Image, short_side: int) -> np.ndarray:
    """Halve with a BOX filter while the short side is at least ``2 * short_side``,
    then resize (BICUBIC) so that the short side is ``short_side``.

    Returns:
        ndarray: uint8 (H', W', 3) with ``min(H', W') == short_side``.
    """
    while min(*pil_image.size) >= 2 * short_side:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = short_side / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size),
                                 resample=Image.BICUBIC)
    return np.asarray(pil_image)
