"""tools/analysis_tools/eval_folders.py and make_fid_ref_stats.py."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_loading import load_script

from sar_mm.evaluation import (FeatureExtractorWeightsNotFoundError, TorchFidelityMetric,
                               center_crop_arr)
from sar_mm.testing.tiny_feature_extractor import (random_images, register_tiny_extractor,
                                                   write_png_folder)

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools'


def load_tool(name: str):
    return load_script(TOOLS / f'{name}.py', name)


@pytest.fixture(scope='module')
def folders(tmp_path_factory):
    register_tiny_extractor()
    root = tmp_path_factory.mktemp('folders')
    fake = random_images(20, seed=11)
    real = random_images(18, seed=12, shift=30)
    write_png_folder(root / 'fake', fake)
    write_png_folder(root / 'real', real)
    return root, fake


def metric_on(fake, reference) -> dict:
    metric = TorchFidelityMetric(reference=str(reference),
                                 feature_extractor=register_tiny_extractor(), device='cpu',
                                 isc_splits=2, prefix='m')
    metric.process(None, [dict(fake_img=img, sample_idx=i) for i, img in enumerate(fake)])
    return {k[2:]: v for k, v in metric.evaluate(len(fake)).items()}


def test_eval_folders_writes_torch_fidelity_names(folders, tmp_path):
    root, fake = folders
    out = tmp_path / 'metrics.json'
    returned = load_tool('eval_folders').main([
        str(root / 'real'), str(root / 'fake'), '--feature-extractor', register_tiny_extractor(),
        '--isc-splits', '2', '--device', 'cpu', '--out', str(out)])
    written = json.loads(out.read_text())['metrics']
    assert written == pytest.approx(returned)
    assert set(written) == {'frechet_inception_distance', 'inception_score_mean',
                            'inception_score_std', 'precision', 'recall', 'f_score'}
    # the same numbers as the Runner-side metric on the same images
    assert metric_on(fake, root / 'real') == pytest.approx(written, abs=1e-3)


def test_eval_folders_subset_and_missing_weights(folders, tmp_path):
    root, _ = folders
    tool = load_tool('eval_folders')
    only_isc = tool.main([str(root / 'real'), str(root / 'fake'), '--metrics', 'isc',
                          '--feature-extractor', register_tiny_extractor(), '--isc-splits', '2',
                          '--device', 'cpu'])
    assert set(only_isc) == {'inception_score_mean', 'inception_score_std'}
    missing = tmp_path / 'absent' / 'weights.pth'
    with pytest.raises(FeatureExtractorWeightsNotFoundError, match='absent'):
        tool.main([str(root / 'real'), str(root / 'fake'), '--feature-weights', str(missing),
                   '--debug'])


def test_center_crop_arr_hand_cases():
    # 6 x 12 (H x W) image, size 6: no halving, no resize, the centre 6 columns
    arr = np.arange(6 * 12 * 3, dtype=np.uint8).reshape(6, 12, 3)
    assert np.array_equal(center_crop_arr(Image.fromarray(arr), 6), arr[:, 3:9])
    # a constant image stays constant through BOX halving and BICUBIC resizing
    flat = np.full((40, 64, 3), 77, dtype=np.uint8)
    out = center_crop_arr(Image.fromarray(flat), 8)
    assert out.shape == (8, 8, 3) and (out == 77).all()


def test_ref_stats_npz_reproduces_folder_metrics(folders, tmp_path):
    root, fake = folders
    out = tmp_path / 'ref.npz'
    load_tool('make_fid_ref_stats').main([
        str(root / 'real'), str(out), '--size', '0', '--save-images',
        '--feature-extractor', register_tiny_extractor(), '--device', 'cpu'])
    with np.load(out) as data:
        assert str(data['feature_extractor']) == register_tiny_extractor()
        assert int(data['num_images']) == 18
        assert data['arr_0'].shape == (18, 16, 16, 3)
    from_folder = metric_on(fake, root / 'real')
    from_npz = metric_on(fake, out)
    assert from_npz == pytest.approx(from_folder, abs=1e-6)
