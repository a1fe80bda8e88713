"""Packing a sample into the generator's batch contract."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from sar_mm.registry import TRANSFORMS

__all__ = ['PackGeneratorInputs']


@TRANSFORMS.register_module()
class PackGeneratorInputs(BaseTransform):
    """``results`` -> ``dict(inputs=uint8 (3, H, W), data_samples=dict(labels=int))``.

    ``default_collate`` turns a list of these into the training batch
    ``dict(inputs=uint8 (B, 3, H, W), data_samples=dict(labels=int64 (B,)))``.
    Reads ``results['img']`` (H, W, 3) uint8 RGB and ``results['gt_label']``.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'expected an (H, W, 3) uint8 image, got {img.shape} {img.dtype}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))  # (3, H, W)
        return dict(inputs=inputs, data_samples=dict(labels=int(results['gt_label'])))
