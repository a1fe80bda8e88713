"""Synthetic class-conditional toy images, rendered from ``(seed, index)``.

Ten classes that differ in shape, layout and colour statistics. Every sample
draws its own position, size, rotation, colour jitter and background texture
from ``numpy.random.default_rng([seed, index])``, so the data are identical in
every process and worker, need no files, and a wrong coarse scale (a shape in
the wrong place or colour) stays visible in the finest scale.
"""
import colorsys
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from sar_mm.registry import DATASETS

__all__ = ['SyntheticShapesDataset', 'render_shape_image', 'SHAPE_CLASSES']

#: class names, in label order.
SHAPE_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'stripes', 'rings', 'checker',
                                  'cross', 'diamond', 'gradient_blobs', 'two_objects')

# Per class: (foreground hue, saturation, value), (background hue, saturation, value).
_PALETTES: Dict[str, Tuple[Tuple[float, float, float], Tuple[float, float, float]]] = {
    'circle': ((0.00, 0.85, 0.90), (0.60, 0.30, 0.25)),
    'square': ((0.62, 0.80, 0.85), (0.10, 0.25, 0.85)),
    'triangle': ((0.33, 0.80, 0.75), (0.95, 0.20, 0.30)),
    'stripes': ((0.15, 0.90, 0.95), (0.78, 0.60, 0.45)),
    'rings': ((0.50, 0.75, 0.90), (0.55, 0.30, 0.10)),
    'checker': ((0.08, 0.85, 0.95), (0.00, 0.00, 0.95)),
    'cross': ((0.85, 0.75, 0.85), (0.30, 0.35, 0.55)),
    'diamond': ((0.45, 0.90, 0.55), (0.12, 0.40, 0.95)),
    'gradient_blobs': ((0.70, 0.60, 0.90), (0.00, 0.00, 0.50)),
    'two_objects': ((0.98, 0.80, 0.85), (0.40, 0.15, 0.80)),
}

_SUPERSAMPLE = 2  # render at 2x and box-average: anti-aliased edges


def _hsv(rng: np.random.Generator, hsv: Tuple[float, float, float],
         jitter: Tuple[float, float, float]) -> np.ndarray:
    """A jittered HSV colour as RGB in [0, 1], shape (3,)."""
    h = (hsv[0] + rng.uniform(-jitter[0], jitter[0])) % 1.0
    s = float(np.clip(hsv[1] + rng.uniform(-jitter[1], jitter[1]), 0, 1))
    v = float(np.clip(hsv[2] + rng.uniform(-jitter[2], jitter[2]), 0, 1))
    return np.array(colorsys.hsv_to_rgb(h, s, v))


def _background(rng: np.random.Generator, u: np.ndarray, v: np.ndarray,
                base: np.ndarray) -> np.ndarray:
    """Base colour + linear gradient + two low-frequency waves, (S, S, 3)."""
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * u + np.sin(angle) * v  # (S, S) in [-1.5, 1.5]
    img = base[None, None] * (1 + 0.15 * ramp[..., None])
    for _ in range(2):
        freq = rng.uniform(1.5, 4.0)
        theta = rng.uniform(0, 2 * np.pi)
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(freq * np.pi * (np.cos(theta) * u + np.sin(theta) * v) + phase)
        img = img + 0.05 * wave[..., None] * rng.uniform(0.5, 1.0, size=3)[None, None]
    return img


def _shape_mask(name: str, rng: np.random.Generator, x: np.ndarray, y: np.ndarray,
                r: float) -> np.ndarray:
    """Binary mask (S, S) of a single-shape class in rotated, centred coordinates."""
    if name == 'circle':
        return x ** 2 + y ** 2 <= r ** 2
    if name == 'square':
        return np.maximum(np.abs(x), np.abs(y)) <= 0.8 * r
    if name == 'triangle':
        angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
        return np.all([np.cos(a) * x + np.sin(a) * y <= 0.5 * r for a in angles], axis=0)
    if name == 'stripes':  # a full-field pattern: layout, not an object
        period = rng.uniform(0.25, 0.45)
        return np.mod(x / period, 1.0) < 0.5
    if name == 'rings':
        period = rng.uniform(0.18, 0.3)
        rho = np.sqrt(x ** 2 + y ** 2)
        return (np.mod(rho / period, 1.0) < 0.5) & (rho <= 1.3 * r)
    if name == 'checker':
        cell = rng.uniform(0.15, 0.25)
        inside = np.maximum(np.abs(x), np.abs(y)) <= 1.1 * r
        return inside & ((np.floor(x / cell) + np.floor(y / cell)) % 2 == 0)
    if name == 'cross':
        arm = 0.3 * r
        return (((np.abs(x) <= arm) & (np.abs(y) <= r))
                | ((np.abs(y) <= arm) & (np.abs(x) <= r)))
    if name == 'diamond':  # an elongated rhombus, so no rotation turns a square into it
        return np.abs(x) / r + np.abs(y) / (0.55 * r) <= 1
    raise KeyError(name)


def render_shape_image(seed: int, index: int, image_size: int) -> Tuple[np.ndarray, int]:
    """Render sample ``index`` of the dataset with ``seed``.

    The label is ``index % 10``; everything else comes from
    ``numpy.random.default_rng([seed, index])``.

    Returns:
        (ndarray (image_size, image_size, 3) uint8 RGB, int label)
    """
    label = index % len(SHAPE_CLASSES)
    name = SHAPE_CLASSES[label]
    rng = np.random.default_rng([seed, index])
    side = image_size * _SUPERSAMPLE
    coords = (np.arange(side) + 0.5) / side * 2 - 1  # pixel centres in [-1, 1]
    v, u = np.meshgrid(coords, coords, indexing='ij')  # (S, S): v rows (y), u columns (x)

    fg_hsv, bg_hsv = _PALETTES[name]
    img = _background(rng, u, v, _hsv(rng, bg_hsv, (0.03, 0.1, 0.1)))

    if name == 'gradient_blobs':  # 3-5 soft Gaussian blobs of related hues
        for _ in range(int(rng.integers(3, 6))):
            cx, cy = rng.uniform(-0.7, 0.7, size=2)
            sigma = rng.uniform(0.15, 0.35)
            alpha = np.exp(-((u - cx) ** 2 + (v - cy) ** 2) / (2 * sigma ** 2))[..., None]
            colour = _hsv(rng, fg_hsv, (0.15, 0.2, 0.1))
            img = img * (1 - alpha) + colour[None, None] * alpha
    elif name == 'two_objects':  # a red disc and a blue square, apart from each other
        angle = rng.uniform(0, 2 * np.pi)
        dist = rng.uniform(0.35, 0.5)
        r = rng.uniform(0.18, 0.28)
        for sign, hsv, kind in ((1, fg_hsv, 'circle'), (-1, (0.62, 0.8, 0.8), 'square')):
            cx = sign * dist * np.cos(angle) + rng.uniform(-0.05, 0.05)
            cy = sign * dist * np.sin(angle) + rng.uniform(-0.05, 0.05)
            mask = _shape_mask(kind, rng, u - cx, v - cy, r)[..., None]
            img = np.where(mask, _hsv(rng, hsv, (0.03, 0.1, 0.1))[None, None], img)
    else:
        cx, cy = rng.uniform(-0.35, 0.35, size=2)
        r = rng.uniform(0.3, 0.6)
        theta = rng.uniform(0, 2 * np.pi)
        x = np.cos(theta) * (u - cx) + np.sin(theta) * (v - cy)  # rotated, centred coordinates
        y = -np.sin(theta) * (u - cx) + np.cos(theta) * (v - cy)
        mask = _shape_mask(name, rng, x, y, r)[..., None]
        img = np.where(mask, _hsv(rng, fg_hsv, (0.04, 0.1, 0.1))[None, None], img)

    # (S, S, 3) -> (size, ss, size, ss, 3) -> box average -> (size, size, 3)
    img = img.reshape(image_size, _SUPERSAMPLE, image_size, _SUPERSAMPLE, 3).mean(axis=(1, 3))
    img = img + rng.normal(0.0, 0.015, size=img.shape)  # sensor-like noise
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8), label


@DATASETS.register_module()
class SyntheticShapesDataset(BaseDataset):
    """Ten-class synthetic shapes at ``image_size`` px, generated on the fly.

    Items are what the pipeline makes of
    ``dict(img=uint8 (H, W, 3) RGB, gt_label=int, sample_idx=int)``.

    Args:
        num_samples (int): dataset length; labels cycle ``0..9``.
        image_size (int): 32 or 64 (any size >= 8 works).
        seed (int): the data seed (independent of the training seed).
        pipeline (Sequence[dict | Callable]): the transforms.
        test_mode (bool), lazy_init (bool), indices (int | Sequence[int], optional):
            as for ``mmengine.dataset.BaseDataset``.
    """

    METAINFO = dict(classes=SHAPE_CLASSES)

    def __init__(self,
                 num_samples: int = 10000,
                 image_size: int = 32,
                 seed: int = 0,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None) -> None:
        if num_samples <= 0:
            raise ValueError(f'num_samples must be positive, got {num_samples}')
        if image_size < 8:
            raise ValueError(f'image_size must be at least 8, got {image_size}')
        self.num_samples = num_samples
        self.image_size = image_size
        self.seed = seed
        super().__init__(pipeline=list(pipeline), test_mode=test_mode, lazy_init=lazy_init,
                         indices=indices, serialize_data=False)

    def load_data_list(self) -> List[dict]:
        return [dict(index=i, gt_label=i % len(SHAPE_CLASSES)) for i in range(self.num_samples)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['img'], _ = render_shape_image(self.seed, info['index'], self.image_size)
        info['img_shape'] = info['img'].shape[:2]
        info['ori_shape'] = info['img'].shape[:2]
        return info
