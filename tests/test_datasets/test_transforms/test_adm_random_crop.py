"""ADM random crop (spec 4.2): hand-computed cases and the short-side range."""
import math

import numpy as np
import pytest

from sar_mm.datasets import ADMRandomCrop, adm_random_crop
from sar_mm.registry import TRANSFORMS


def _blocks(values: np.ndarray, block: int) -> np.ndarray:
    """Repeat each entry of an (h, w, 3) array into a block x block square."""
    return np.repeat(np.repeat(values, block, axis=0), block, axis=1)


def test_box_halving_of_large_images_is_exact():
    """Frac 1.0: short side == size; 4x4 constant blocks halve twice to the block values."""
    rng = np.random.default_rng(0)
    values = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    out = adm_random_crop(_blocks(values, 4), 8, 1.0, 1.0, np.random.RandomState(0))
    np.testing.assert_array_equal(out, values)


def test_crop_offset_along_the_long_side():
    """Short side already == size: no resize, a crop at the drawn column offset."""
    size = 16
    img = np.random.default_rng(1).integers(0, 256, (size, 2 * size, 3), dtype=np.uint8)
    out = adm_random_crop(img, size, 1.0, 1.0, np.random.RandomState(5))
    # ADM draws the short side, then the row offset, then the column offset
    replay = np.random.RandomState(5)
    assert replay.randint(size, size + 1) == size
    assert replay.randint(1) == 0
    left = replay.randint(size + 1)
    np.testing.assert_array_equal(out, img[:, left:left + size])


def test_short_side_range_follows_crop_fractions():
    """A horizontal ramp's slope after the crop gives the drawn short side."""
    size, width = 64, 100
    ramp = np.tile(np.linspace(0, 250, width)[None, :, None], (width, 1, 3)).astype(np.uint8)
    low, high = size, math.ceil(size / 0.88)  # 64 .. 73
    rng = np.random.RandomState(0)
    sides = []
    for _ in range(60):
        out = adm_random_crop(ramp, size, 0.88, 1.0, rng)
        assert out.shape == (size, size, 3) and out.dtype == np.uint8
        row = out[size // 2, :, 0].astype(np.float64)
        slope = (row[-8] - row[8]) / (size - 16)  # grey levels per output pixel
        sides.append(250 / (width - 1) * width / slope)  # short side that gives this slope
    sides = np.array(sides)
    assert sides.min() > low - 1.5 and sides.max() < high + 1.5
    assert sides.min() < low + 2 and sides.max() > high - 2  # both ends are drawn


def test_transform_registered_and_validates():
    t = TRANSFORMS.build(dict(type='ADMRandomCrop', size=8))
    assert isinstance(t, ADMRandomCrop) and t.min_crop_frac == 0.88
    img = np.zeros((20, 30, 3), np.uint8)
    out = t(dict(img=img))
    assert out['img'].shape == (8, 8, 3) and out['img_shape'] == (8, 8)
    with pytest.raises(ValueError):
        ADMRandomCrop(size=8, min_crop_frac=0.0)
    with pytest.raises(ValueError):
        ADMRandomCrop(size=8, min_crop_frac=0.9, max_crop_frac=0.8)
