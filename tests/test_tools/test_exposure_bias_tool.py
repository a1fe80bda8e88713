"""tools/analysis_tools/exposure_bias.py on the toy config with random weights."""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from script_loading import load_script

from sar_mm.datasets import PackGeneratorInputs, SyntheticShapesDataset
from sar_mm.evaluation.exposure_bias import measure_exposure_bias
from sar_mm.models.data_preprocessors import to_symmetric_range
from sar_mm.registry import MODELS
from sar_mm.utils.setup_env import register_all_modules

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis_tools' / 'exposure_bias.py'
CONFIG = REPO / 'configs' / 'toy' / 'flexvar_tiny_shapes_tf_pretrain.py'


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL, 'exposure_bias_tool')


def test_prints_tables_and_writes_json_and_plot(tool, tmp_path, capsys):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    checkpoint = tmp_path / 'weights.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)  # tensors only
    # a LatentDataset config: the tool measures on the images of its source
    options = ['train_dataloader.dataset.source.num_samples=16',
               'train_dataloader.dataset.source.seed=3']
    tool.main([str(CONFIG), str(checkpoint), '--num-images', '6', '--batch-size', '4',
               '--out-dir', str(tmp_path / 'out'), '--cfg-options', *options])
    out = capsys.readouterr().out
    assert 'Exposure bias (chain, 6 images)' in out and 'Exposure bias (one_step, 6 images)' in out
    results = json.loads((tmp_path / 'out' / 'exposure_bias.json').read_text())
    assert set(results) == {'chain', 'one_step'}
    assert (tmp_path / 'out' / 'exposure_bias.png').stat().st_size > 1000

    # the same numbers as the library function on the same images
    cfg = Config.fromfile(str(CONFIG))
    cfg.train_dataloader.dataset.source.num_samples = 16
    cfg.train_dataloader.dataset.source.seed = 3
    images, labels = tool.load_images(cfg, 6, seed=0)
    source = SyntheticShapesDataset(num_samples=16, seed=3, pipeline=[PackGeneratorInputs()])
    assert torch.equal(images[0], to_symmetric_range(source[0]['inputs'][None])[0])
    model.eval()
    expected = measure_exposure_bias(model, images, labels, mode='chain')
    assert results['chain']['tf_acc'] == pytest.approx(expected['tf_acc'])
    assert results['chain']['rollout_loss'] == pytest.approx(expected['rollout_loss'], rel=1e-5)
    with pytest.raises(ValueError, match='num-images'):
        tool.load_images(cfg, 17, seed=0)
