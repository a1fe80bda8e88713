import torch

from sar_mm.utils.image_grid import tile_samples


def test_rows_are_scales_and_small_scales_are_upsampled_nearest():
    images = torch.full((3, 3, 4, 4), 7, dtype=torch.uint8)
    coarse = torch.arange(3 * 3, dtype=torch.uint8).view(3, 3, 1, 1)  # one colour per sample
    grid = tile_samples(images, [coarse, images], padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3) and grid.dtype.name == 'uint8'
    # first row: sample b's 1x1 scale fills its 4x4 tile
    for b in range(3):
        tile = grid[1:5, 1 + 5 * b:5 + 5 * b]
        assert (tile == coarse[b, :, 0, 0].numpy()).all()
    assert (grid[6:10, 1:5] == 7).all()  # second row: the final images
    assert (grid[0] == 255).all() and (grid[:, 0] == 255).all()  # white padding


def test_nrow_wraps_final_images():
    images = torch.zeros(4, 3, 2, 2, dtype=torch.uint8)
    assert tile_samples(images, nrow=2, padding=0).shape == (4, 4, 3)
    assert tile_samples(images, padding=0).shape == (2, 8, 3)
