"""Inputs of zero-shot image editing: box masks, out-painting canvases, square fitting.

Images are uint8 (H, W, 3) RGB arrays and masks (H, W) bool arrays with True =
regenerate, as :func:`sar_mm.apis.edit_images` takes them.
"""
from typing import Sequence, Tuple

import numpy as np
from PIL import Image

__all__ = ['box_mask', 'pad_to_canvas', 'fit_square']

#: Colour of the canvas around an out-painted image: mid grey. The border is
#: regenerated, so its colour only reaches the kept tokens through the
#: encoder's receptive field at the edge of the image.
CANVAS_FILL = 128


def box_mask(height: int, width: int, box: Sequence[int]) -> np.ndarray:
    """(height, width) bool mask, True inside ``box``.

    Args:
        height (int), width (int): the mask's size.
        box: ``(x0, y0, x1, y1)`` in pixels, ``x1`` and ``y1`` exclusive.

    Raises:
        ValueError: a box that is empty or leaves the image.
    """
    if len(box) != 4:
        raise ValueError(f'a box is (x0, y0, x1, y1), got {tuple(box)}')
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f'box {(x0, y0, x1, y1)} is empty or outside the {width}x{height} image '
                         '(need 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height)')
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def pad_to_canvas(image: np.ndarray, pad: int,
                  fill: int = CANVAS_FILL) -> Tuple[np.ndarray, np.ndarray]:
    """Place an image in the middle of a larger canvas for out-painting.

    Args:
        image (ndarray): uint8 (H, W, 3).
        pad (int): border width in pixels, at least 1.
        fill (int): grey level of the border.

    Returns:
        tuple: the canvas uint8 (H + 2 pad, W + 2 pad, 3) and its mask
        (H + 2 pad, W + 2 pad) bool, True on the border.
    """
    if pad < 1:
        raise ValueError(f'pad must be at least 1 pixel, got {pad}')
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image must be uint8 (H, W, 3), got {image.dtype} {image.shape}')
    H, W = image.shape[:2]
    canvas = np.full((H + 2 * pad, W + 2 * pad, 3), fill, dtype=np.uint8)
    canvas[pad:pad + H, pad:pad + W] = image
    mask = np.ones(canvas.shape[:2], dtype=bool)
    mask[pad:pad + H, pad:pad + W] = False
    return canvas, mask


def fit_square(array: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Centre-crop to a square and resize to ``size x size``.

    Args:
        array (ndarray): uint8 (H, W, 3) image (bicubic resize) or (H, W)
            bool mask (nearest neighbour, so it stays binary).
        size (int): the output side.
        nearest (bool): nearest-neighbour resize for images too.

    Returns:
        ndarray: (size, size, 3) uint8 or (size, size) bool.
    """
    H, W = array.shape[:2]
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    crop = array[top:top + side, left:left + side]
    if side == size:
        return crop.copy()
    is_mask = array.dtype == bool
    pil = Image.fromarray(crop.astype(np.uint8) * 255 if is_mask else crop)
    resample = Image.NEAREST if (nearest or is_mask) else Image.BICUBIC
    out = np.asarray(pil.resize((size, size), resample=resample))
    return out > 127 if is_mask else out
