"""Bounded demo requests, drawn in batches with a progress bar.

A demo grid is one PNG holding every image, so the number of images is bounded
(:data:`MAX_DEMO_IMAGES`); larger sets are for ``tools/test.py`` (one file per
sample). :func:`draw_in_batches` runs a sampling or editing call batch by
batch: with per-image seeds each image depends only on its own label, seed and
settings, so the result is the one a single call would give.
"""
import sys
from typing import Callable, List, Tuple, Union

import numpy as np
from mmengine.utils import ProgressBar

__all__ = ['MAX_DEMO_IMAGES', 'check_demo_size', 'draw_in_batches']

#: images one demo grid may hold
MAX_DEMO_IMAGES = 256

Drawn = Union[np.ndarray, Tuple[np.ndarray, List[np.ndarray]]]


def check_demo_size(count: int, what: str) -> None:
    """Refuse fewer than 1 or more than :data:`MAX_DEMO_IMAGES` images (``ValueError``)."""
    if not 1 <= count <= MAX_DEMO_IMAGES:
        raise ValueError(f'{what}: {count} images; a demo grid holds 1 to {MAX_DEMO_IMAGES} '
                         '(for more, use tools/test.py, which writes one file per sample)')


def draw_in_batches(draw: Callable[[int, int], Drawn], count: int, batch_size: int) -> Drawn:
    """``draw(start, stop)`` for consecutive slices of ``range(count)``, concatenated.

    Args:
        draw: returns uint8 (b, H, W, 3) images, or a tuple of them and a list
            of per-scale (b, h_k, w_k, 3) images, for images ``start .. stop - 1``.
        count (int): images in all.
        batch_size (int): images per call, >= 1.

    Returns:
        what ``draw`` returns, for all ``count`` images.
    """
    if batch_size < 1:
        raise ValueError(f'the batch size must be at least 1, got {batch_size}')
    progress = ProgressBar(count, file=sys.stdout)
    parts = []
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        parts.append(draw(start, stop))
        progress.update(stop - start)
    print(flush=True)  # end the bar's line
    if not isinstance(parts[0], tuple):
        return np.concatenate(parts)
    images = np.concatenate([p[0] for p in parts])
    scales = [np.concatenate([p[1][k] for p in parts]) for k in range(len(parts[0][1]))]
    return images, scales
