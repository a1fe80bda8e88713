"""ADM's short-side resize, shared by the reference centre crop and the training random crop."""
import numpy as np
from PIL import Image

from sar_mm.datasets.transforms import adm_random_crop
from sar_mm.evaluation import center_crop_arr
from sar_mm.utils.adm_resize import adm_resize_short_side


def _image(h: int, w: int) -> np.ndarray:
    return np.random.RandomState(0).randint(0, 256, (h, w, 3), dtype=np.uint8)


def test_halves_with_box_then_one_bicubic_resize():
    img = Image.fromarray(_image(300, 600))  # short side 300 -> 150 -> 75, then 64
    halved = img.resize((300, 150), resample=Image.BOX).resize((150, 75), resample=Image.BOX)
    expected = halved.resize((128, 64), resample=Image.BICUBIC)
    out = adm_resize_short_side(img, 64)
    assert out.shape == (64, 128, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(expected))


def test_both_crops_cut_from_the_same_resize():
    arr = _image(300, 600)
    resized = adm_resize_short_side(Image.fromarray(arr), 64)  # (64, 128, 3)
    np.testing.assert_array_equal(center_crop_arr(Image.fromarray(arr), 64), resized[:, 32:96])
    rng, replay = np.random.RandomState(5), np.random.RandomState(5)
    crop = adm_random_crop(arr, 64, 1.0, 1.0, rng)  # short side exactly 64
    replay.randint(64, 65)  # the short-side draw
    top, left = int(replay.randint(1)), int(replay.randint(128 - 64 + 1))
    np.testing.assert_array_equal(crop, resized[top:top + 64, left:left + 64])
