"""demo/sample_demo.py: PNG grids from a random-init model and from a checkpoint."""
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from script_loading import load_script

from sar_mm.apis import image_grid, init_generator, sample_images

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / 'demo' / 'sample_demo.py'
TINY = ROOT / 'tests' / 'data' / 'configs' / 'tiny_flexvar_sample.py'


@pytest.fixture(scope='module')
def demo():
    return load_script(DEMO, 'sample_demo')


def read_png(path: Path) -> np.ndarray:
    assert path.is_file() and path.stat().st_size > 0
    return mmcv.bgr2rgb(mmcv.imread(str(path)))


def test_random_init_grid_with_scales(demo, tmp_path, capsys):
    out = tmp_path / 'nested' / 'grid.png'
    assert demo.main([str(TINY), 'none', '--labels', '1', '2', '3', '--out', str(out),
                      '--show-scales', '--top-k', '8', '--patch-nums', '1', '2', '3']) == 0
    grid = read_png(out)
    side = 3 * 2  # last scale 3 x tokenizer downsample 2
    # one row per scale (3), one column per label (3), 2 px padding
    assert grid.shape == (3 * (side + 2) + 2, 3 * (side + 2) + 2, 3)
    captured = capsys.readouterr()
    assert 'UNTRAINED MODEL' in captured.out + captured.err


def test_checkpoint_grid_equals_the_api(demo, tmp_path):
    torch.manual_seed(3)
    generator = init_generator(TINY)
    torch.save(dict(state_dict=generator.state_dict()), tmp_path / 'tiny.pth')
    out = tmp_path / 'grid.png'
    assert demo.main([str(TINY), str(tmp_path / 'tiny.pth'), '--labels', '4', '5', '--cfg',
                      '1.5', '--seed', '10', '--out', str(out)]) == 0
    expected = image_grid(sample_images(generator, [4, 5], seeds=[10, 11], cfg=1.5))
    assert np.array_equal(read_png(out), expected)


def test_bad_setting_is_refused_naming_it(demo, tmp_path):
    out = tmp_path / 'grid.png'
    with pytest.raises(ValueError,
                       match=r'test_cfg.top_p must be a number in \[0, 1\] \(0 disables\), got 1.5'):
        demo.main([str(TINY), 'none', '--labels', '1', '--top-p', '1.5', '--out', str(out)])
    assert not out.exists()
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training"):
        demo.main([str(TINY), 'none', '--labels', '1', '--out', str(out), '--cfg-options',
                   'model.test_cfg.cfg_schedule=sar_rollout'])
