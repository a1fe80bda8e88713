"""ADM's random-resize random-crop (``random_crop_arr``) of FlexVAR / SAR (docs/method.md §4.2).

The short side is resized to a random integer in
``[ceil(size / max_crop_frac), ceil(size / min_crop_frac)]`` (halving with a BOX
filter while the image is at least twice that, then one BICUBIC resize), and a
random ``size`` x ``size`` window is cropped. With the official fractions
0.88-1.0 the crop covers 88-100 % of the short side.
"""
import math
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from sar_mm.registry import TRANSFORMS
from sar_mm.utils.adm_resize import adm_resize_short_side

__all__ = ['ADMRandomCrop', 'adm_random_crop']


def adm_random_crop(img: np.ndarray, size: int, min_crop_frac: float, max_crop_frac: float,
                    rng: Optional[np.random.RandomState] = None) -> np.ndarray:
    """ADM ``random_crop_arr`` on an array.

    Args:
        img (ndarray): (H, W, 3) uint8 RGB.
        size (int): output side.
        min_crop_frac, max_crop_frac (float): range of ``size / short side``.
        rng: random source (``np.random`` module state when ``None``).

    Returns:
        ndarray: (size, size, 3) uint8.
    """
    if not 0 < min_crop_frac <= max_crop_frac <= 1:
        raise ValueError(f'need 0 < min_crop_frac <= max_crop_frac <= 1, got '
                         f'{min_crop_frac}, {max_crop_frac}')
    rng = np.random.mtrand._rand if rng is None else rng
    low = math.ceil(size / max_crop_frac)
    high = math.ceil(size / min_crop_frac)
    short_side = int(rng.randint(low, high + 1))  # the resized short side

    arr = adm_resize_short_side(Image.fromarray(img), short_side)  # (H', W', 3)
    top = int(rng.randint(arr.shape[0] - size + 1))
    left = int(rng.randint(arr.shape[1] - size + 1))
    return np.ascontiguousarray(arr[top:top + size, left:left + size])


@TRANSFORMS.register_module()
class ADMRandomCrop(BaseTransform):
    """Transform wrapper of :func:`adm_random_crop` on ``results['img']``.

    Draws from NumPy's global RNG (seeded per worker by MMEngine).

    Args:
        size (int): output side (256 or 512 for ImageNet).
        min_crop_frac (float): 0.88 in FlexVAR / SAR (ADM's default is 0.8).
        max_crop_frac (float): 1.0.
    """

    def __init__(self, size: int, min_crop_frac: float = 0.88, max_crop_frac: float = 1.0) -> None:
        if size <= 0:
            raise ValueError(f'size must be positive, got {size}')
        if not 0 < min_crop_frac <= max_crop_frac <= 1:
            raise ValueError(f'need 0 < min_crop_frac <= max_crop_frac <= 1, got '
                             f'{min_crop_frac}, {max_crop_frac}')
        self.size = size
        self.min_crop_frac = min_crop_frac
        self.max_crop_frac = max_crop_frac

    def transform(self, results: dict) -> dict:
        img = adm_random_crop(results['img'], self.size, self.min_crop_frac, self.max_crop_frac)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, min_crop_frac={self.min_crop_frac}, '
                f'max_crop_frac={self.max_crop_frac})')
