"""demo/edit_demo.py: every mode, grids equal to the API, and the errors it names."""
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from script_loading import load_script

from sar_mm.apis import edit_grid, edit_images, init_generator
from sar_mm.testing.tiny_components import perturb_weights
from sar_mm.utils.edit_canvas import box_mask, pad_to_canvas

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'demo' / 'edit_demo.py'
CONFIGS = ROOT / 'tests' / 'data' / 'configs'
TINY = CONFIGS / 'tiny_flexvar_sample.py'  # 8 px images, scales 1, 2, 4


@pytest.fixture(scope='module')
def demo():
    return load_script(DEMO, 'edit_demo')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    generator = init_generator(TINY)
    perturb_weights(generator.backbone)
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    torch.save(dict(state_dict=generator.state_dict()), path)
    return generator, str(path)


def write_png(path: Path, array: np.ndarray) -> str:
    assert mmcv.imwrite(mmcv.rgb2bgr(array) if array.ndim == 3 else array, str(path))
    return str(path)


def read_png(path: Path) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 0
    return mmcv.bgr2rgb(mmcv.imread(str(path)))


@pytest.fixture
def image8(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return rgb, write_png(tmp_path / 'in.png', rgb)


def test_inpaint_grid_equals_the_api(demo, checkpoint, image8, tmp_path):
    generator, ckpt = checkpoint
    rgb, path = image8
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), ckpt, path, '--mode', 'inpaint', '--box', '2,2,6,6',
                      '--label', '3', '--num', '3', '--seed', '5', '--out', str(out)]) == 0
    mask = box_mask(8, 8, (2, 2, 6, 6))
    results = edit_images(generator, np.stack([rgb] * 3), np.stack([mask] * 3), 3,
                          seeds=[5, 6, 7])
    assert np.array_equal(read_png(out), edit_grid(rgb[None], mask[None], results[None]))


def test_outpaint_shrinks_the_image_into_a_canvas(demo, checkpoint, image8, tmp_path, capsys):
    generator, ckpt = checkpoint
    rgb, path = image8
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), ckpt, path, '--mode', 'outpaint', '--pad', '2', '--label', '1',
                      '--num', '2', '--out', str(out)]) == 0
    assert 'the 8x8 image is resized to 4x4 px (placed in a 8x8 canvas)' in (
        capsys.readouterr().out)
    grid = read_png(out)
    assert grid.shape == (8 + 4, 4 * 10 + 2, 3)  # input | known region | 2 results
    canvas_known = grid[2:10, 12:20]  # the known region: the shrunk image in grey
    assert (canvas_known[:2] == 128).all() and (canvas_known[:, :2] == 128).all()
    shrunk = grid[4:8, 4:8]  # the input column: the canvas holds the 4 px image
    _, mask = pad_to_canvas(shrunk, 2)
    results = edit_images(generator, np.stack([grid[2:10, 2:10]] * 2), np.stack([mask] * 2), 1,
                          seeds=[0, 1])
    assert np.array_equal(grid[2:10, 22:30], results[0])


def test_refine_keeping_every_scale_repeats_the_reconstruction(demo, checkpoint, image8,
                                                                tmp_path):
    _, ckpt = checkpoint
    _, path = image8
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), ckpt, path, '--mode', 'refine', '--keep-scales', '3',
                      '--label', '0', '--num', '3', '--out', str(out)]) == 0
    grid = read_png(out)
    results = [grid[2:10, 2 + 10 * c:10 + 10 * c] for c in (2, 3, 4)]
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[0], results[2])


def test_edit_with_a_mask_png_and_scales_on_a_random_model(demo, image8, tmp_path, capsys):
    _, path = image8
    mask = np.zeros((8, 8), dtype=np.uint8)
    mask[:4] = 255
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), 'none', path, '--mode', 'edit', '--mask',
                      write_png(tmp_path / 'mask.png', mask), '--label', '7', '--num', '2',
                      '--out', str(out), '--show-scales']) == 0
    grid = read_png(out)
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 3)  # 3 scales x (input, known, 2 results)
    # scale 2 x 2: the top row of cells is regenerated (grey), the bottom row kept
    known = grid[12:20, 12:20]
    assert (known[:4] == 128).all() and not (known[4:] == 128).all()
    captured = capsys.readouterr()
    assert 'UNTRAINED MODEL' in captured.out + captured.err


def test_other_image_sizes_are_cropped_and_resized_with_a_note(demo, tmp_path, capsys):
    rgb = np.random.default_rng(1).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), 'none', write_png(tmp_path / 'wide.png', rgb), '--mode',
                      'inpaint', '--box', '1,0,7,5', '--label', '2', '--num', '1', '--out',
                      str(out)]) == 0
    assert ("the 12x10 image is centre-cropped to 10x10 and resized to 8x8 px (the model's "
            'resolution)') in capsys.readouterr().out
    assert read_png(out).shape == (10 + 2, 3 * 10 + 2, 3)


def test_inpainting_defaults_to_the_unconditional_label(demo, checkpoint, image8, tmp_path):
    generator, ckpt = checkpoint
    rgb, path = image8
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), ckpt, path, '--mode', 'inpaint', '--box', '2,2,6,6', '--num',
                      '2', '--edit-protocol', 'var_notebook', '--out', str(out)]) == 0
    mask = box_mask(8, 8, (2, 2, 6, 6))
    results = edit_images(generator, np.stack([rgb] * 2), np.stack([mask] * 2), 10,
                          seeds=[0, 1], edit_protocol='var_notebook')
    assert np.array_equal(read_png(out), edit_grid(rgb[None], mask[None], results[None]))


def test_class_editing_needs_a_label(demo, image8, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main([str(TINY), 'none', image8[1], '--mode', 'edit', '--box', '0,0,2,2'])
    assert exit_info.value.code == 2
    assert '--mode edit needs --label N' in capsys.readouterr().err


@pytest.mark.parametrize('args,message', [
    (['--mode', 'inpaint'], '--mode inpaint needs --mask or --box'),
    (['--mode', 'outpaint', '--box', '0,0,2,2', '--pad', '1'], 'takes --pad N'),
    (['--mode', 'outpaint'], 'takes --pad N'),
    (['--mode', 'inpaint', '--box', '0,0,2,2', '--pad', '1'], '--pad is for --mode outpaint'),
    (['--mode', 'refine'], '--mode refine needs --keep-scales K'),
    (['--mode', 'edit', '--box', '1,2,3'], '--box takes x0,y0,x1,y1'),
])
def test_bad_arguments_exit_with_a_message(demo, image8, args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main([str(TINY), 'none', image8[1], '--label', '1', *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_bad_inputs_are_named(demo, image8, tmp_path):
    _, path = image8
    base = [str(TINY), 'none', path, '--out', str(tmp_path / 'x.png')]
    grey = np.full((8, 8), 128, dtype=np.uint8)
    with pytest.raises(ValueError, match=r'is not a binary mask: it holds the values \[128\]'):
        demo.main(base + ['--mode', 'edit', '--label', '1',
                          '--mask', write_png(tmp_path / 'grey.png', grey)])
    with pytest.raises(ValueError, match='is 6x8 px but the image .* is 8x8'):
        demo.main(base + ['--mode', 'edit', '--label', '1',
                          '--mask', write_png(tmp_path / 'small.png', grey[:, :6] * 0)])
    with pytest.raises(ValueError, match=r'class labels \[11\] are outside \[0, 10\]'):
        demo.main(base + ['--mode', 'inpaint', '--box', '0,0,4,4', '--label', '11'])
    with pytest.raises(ValueError, match='is empty or outside the 8x8 image'):
        demo.main(base + ['--mode', 'inpaint', '--box', '0,0,9,4', '--label', '1'])
    with pytest.raises(ValueError, match='--pad 4 leaves no room'):
        demo.main(base + ['--mode', 'outpaint', '--pad', '4', '--label', '1'])
