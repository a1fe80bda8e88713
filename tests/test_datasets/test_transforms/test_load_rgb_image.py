"""LoadRGBImageFromFile: RGB output for every PIL mode, file name in errors."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sar_mm.datasets import LoadRGBImageFromFile, UnreadableImageError


@pytest.mark.parametrize('mode,value,expected', [
    ('L', 77, [77, 77, 77]),
    ('RGBA', (1, 2, 3, 0), [1, 2, 3]),
    ('RGB', (9, 8, 7), [9, 8, 7]),
])
def test_modes_become_rgb(tmp_path: Path, mode, value, expected):
    path = tmp_path / 'img.png'
    Image.new(mode, (3, 2), value).save(path)
    out = LoadRGBImageFromFile()(dict(img_path=str(path)))
    assert out['img'].shape == (2, 3, 3) and out['img'].dtype == np.uint8
    assert out['img'][1, 2].tolist() == expected
    assert out['ori_shape'] == (2, 3)


def test_not_an_image(tmp_path: Path):
    path = tmp_path / 'fake.jpg'
    path.write_bytes(b'this is text')
    with pytest.raises(UnreadableImageError, match='fake.jpg'):
        LoadRGBImageFromFile()(dict(img_path=str(path)))
