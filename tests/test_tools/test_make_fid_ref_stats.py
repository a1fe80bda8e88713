"""make_fid_ref_stats.py on an ADM reference batch (.npz, arr_0) equals the same images as PNGs."""
from pathlib import Path

import numpy as np
import pytest
from script_loading import load_script

from sar_mm.testing.tiny_feature_extractor import TINY_EXTRACTOR, random_images, write_png_folder

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'make_fid_ref_stats.py'


def run_tool(*argv: str) -> dict:
    module = load_script(TOOL, 'make_fid_ref_stats')
    return module.main([*argv, '--feature-extractor', TINY_EXTRACTOR, '--device', 'cpu'])


@pytest.fixture
def reference(tmp_path: Path) -> dict:
    images = random_images(6, size=16, seed=7)  # uint8 (6, 3, 16, 16)
    write_png_folder(tmp_path / 'real', images)
    arr = images.permute(0, 2, 3, 1).numpy()  # (6, 16, 16, 3), the ADM layout
    npz = tmp_path / 'VIRTUAL_tiny_labeled.npz'
    np.savez(npz, arr_0=arr)
    return dict(folder=tmp_path / 'real', npz=npz, arr=arr)


def test_npz_batch_gives_the_statistics_of_its_images(reference, tmp_path: Path):
    from_folder = run_tool(str(reference['folder']), str(tmp_path / 'a.npz'), '--size', '0')
    out = tmp_path / 'b.npz'
    from_npz = run_tool(str(reference['npz']), str(out), '--size', '16', '--save-images')
    assert from_npz['num_images'] == from_folder['num_images'] == 6
    np.testing.assert_array_equal(from_npz['mu'], from_folder['mu'])
    np.testing.assert_array_equal(from_npz['sigma'], from_folder['sigma'])
    with np.load(out) as data:
        np.testing.assert_array_equal(data['arr_0'], reference['arr'])
        np.testing.assert_array_equal(data['mu'], from_folder['mu'])
        assert str(data['feature_extractor']) == TINY_EXTRACTOR


def test_npz_batch_is_not_cropped_again(reference, tmp_path: Path):
    with pytest.raises(ValueError, match='--size 0'):
        run_tool(str(reference['npz']), str(tmp_path / 'c.npz'), '--size', '8', '--debug')
