"""Tiling of generated samples, and of each of their scales, into one image."""
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.utils import make_grid

__all__ = ['tile_samples']


def tile_samples(images: torch.Tensor, scale_images: Optional[Sequence[torch.Tensor]] = None,
                 nrow: Optional[int] = None, padding: int = 2) -> np.ndarray:
    """Lay out samples (and optionally every scale of them) in one uint8 image.

    Args:
        images (Tensor): uint8 (B, 3, H, W) final images.
        scale_images (sequence of Tensor, optional): K tensors uint8
            (B, 3, h_k, w_k); when given, the grid has one row per scale (each
            resized to H x W, nearest neighbour) and one column per sample.
        nrow (int, optional): images per row without ``scale_images``
            (default: all in one row).
        padding (int): white pixels between images.

    Returns:
        np.ndarray: uint8 (H', W', 3).
    """
    images = images.cpu()
    if scale_images is None:
        tiles, per_row = images, nrow or images.shape[0]
    else:
        rows = [F.interpolate(scale.cpu().float(), size=images.shape[-2:],
                              mode='nearest').to(torch.uint8)
                for scale in scale_images]  # K x (B, 3, H, W)
        tiles, per_row = torch.cat(rows), images.shape[0]
    grid = make_grid(tiles, nrow=per_row, padding=padding, pad_value=255)  # (3, H', W')
    return grid.permute(1, 2, 0).contiguous().numpy()
