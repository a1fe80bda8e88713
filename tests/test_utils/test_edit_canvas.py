"""Box masks, out-painting canvases and square fitting of sar_mm.utils.edit_canvas."""
import numpy as np
import pytest

from sar_mm.utils.edit_canvas import CANVAS_FILL, box_mask, fit_square, pad_to_canvas


def test_box_mask_is_true_inside_the_half_open_box():
    mask = box_mask(4, 5, (1, 2, 4, 4))
    assert mask.dtype == bool and mask.shape == (4, 5)
    assert np.argwhere(mask).tolist() == [[2, 1], [2, 2], [2, 3], [3, 1], [3, 2], [3, 3]]
    assert box_mask(4, 5, (0, 0, 5, 4)).all()


@pytest.mark.parametrize('box', [(2, 0, 2, 3), (0, 3, 4, 1), (-1, 0, 2, 2), (0, 0, 6, 2),
                                 (0, 0, 2, 5)])
def test_empty_or_outside_boxes_are_refused(box):
    with pytest.raises(ValueError, match='is empty or outside the 5x4 image'):
        box_mask(4, 5, box)


def test_a_box_has_four_numbers():
    with pytest.raises(ValueError, match=r'a box is \(x0, y0, x1, y1\)'):
        box_mask(4, 4, (1, 2, 3))


def test_pad_to_canvas_centres_the_image_and_masks_the_border():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    canvas, mask = pad_to_canvas(image, 2)
    assert canvas.shape == (6, 7, 3) and mask.shape == (6, 7)
    assert np.array_equal(canvas[2:4, 2:5], image)
    assert (canvas[mask] == CANVAS_FILL).all()
    assert mask.sum() == 6 * 7 - 2 * 3 and not mask[2:4, 2:5].any()


@pytest.mark.parametrize('pad,image,message', [
    (0, np.zeros((2, 2, 3), np.uint8), 'pad must be at least 1'),
    (1, np.zeros((2, 2), np.uint8), r'image must be uint8 \(H, W, 3\)'),
    (1, np.zeros((2, 2, 3), np.float32), r'image must be uint8 \(H, W, 3\)'),
])
def test_bad_canvases_are_refused(pad, image, message):
    with pytest.raises(ValueError, match=message):
        pad_to_canvas(image, pad)


def test_fit_square_crops_the_middle_then_resizes():
    image = np.zeros((4, 8, 3), dtype=np.uint8)
    image[:, 2:6] = 255  # the middle square
    assert (fit_square(image, 4) == 255).all()
    assert (fit_square(image, 2, nearest=True) == 255).all()
    big = fit_square(image, 16)
    assert big.shape == (16, 16, 3) and big.dtype == np.uint8


def test_fit_square_keeps_masks_binary():
    mask = np.zeros((6, 6), dtype=bool)
    mask[:3] = True
    small = fit_square(mask, 2)
    assert small.dtype == bool and small.tolist() == [[True, True], [False, False]]
    assert fit_square(mask, 6) is not mask and np.array_equal(fit_square(mask, 6), mask)
