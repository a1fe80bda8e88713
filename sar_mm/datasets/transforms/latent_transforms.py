"""Transforms of :class:`~sar_mm.datasets.LatentDataset` items."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from sar_mm.registry import TRANSFORMS

__all__ = ['RandomLatentFlip', 'PackLatentInputs']


@TRANSFORMS.register_module()
class RandomLatentFlip(BaseTransform):
    """``RandomFlip(direction='horizontal')`` for cached latents.

    With probability ``prob`` replaces ``results['latent']`` with
    ``results['latent_hflip']``, the latent of the mirrored image (encoding
    is not mirror-symmetric, so flipping the latent itself would not do).
    Draws one uniform number from NumPy's global RNG and flips below ``prob``,
    exactly as ``RandomFlip(prob, direction='horizontal')`` decides, so a run
    on latents flips the samples an image run with the same seeds flips.

    Args:
        prob (float): probability of the mirrored view, in [0, 1].
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if 'latent_hflip' not in results:
            raise KeyError('RandomLatentFlip needs the latents of mirrored images: extract the '
                           'latent file with flips (tools/extract_latents.py without --no-hflip)')
        flip = bool(np.random.rand() < self.prob)
        if flip:
            results['latent'] = results['latent_hflip']
        results['flip'] = flip
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'


@TRANSFORMS.register_module()
class PackLatentInputs(BaseTransform):
    """``results`` -> ``dict(data_samples=dict(labels=int, latents=float32 (Cvae, h, w)))``.

    ``default_collate`` turns a list of these into a batch without ``inputs``,
    which ``ScaleWiseAR`` trains on like the images the latents come from.
    """

    def transform(self, results: dict) -> dict:
        latent = results['latent']
        if latent.ndim != 3 or latent.dtype != np.float32:
            raise ValueError(f'expected a (Cvae, h, w) float32 latent, got {latent.shape} '
                             f'{latent.dtype}')
        return dict(data_samples=dict(labels=int(results['gt_label']),
                                      latents=torch.from_numpy(np.ascontiguousarray(latent))))
