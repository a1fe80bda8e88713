"""tools/extract_latents.py on the toy pretraining config with a random tokenizer."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from script_loading import load_script

from sar_mm.apis import tokenizer_digest
from sar_mm.datasets import LatentDataset
from sar_mm.registry import MODELS
from sar_mm.utils.checkpoint_io import CheckpointMismatchError, CheckpointReadError
from sar_mm.utils.setup_env import register_all_modules

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'extract_latents.py'
CONFIG = REPO / 'configs' / 'toy' / 'flexvar_tiny_shapes_tf_pretrain.py'
TOKENIZER_CONFIG = REPO / 'configs' / 'toy' / 'vqvae_tiny_shapes.py'


@pytest.fixture(scope='module')
def tool():
    return load_script(TOOL, 'extract_latents_tool')


@pytest.fixture(scope='module')
def trainer():
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(TOKENIZER_CONFIG)).model)


def test_writes_the_latents_the_config_trains_on(tool, trainer, tmp_path):
    checkpoint = tmp_path / 'tokenizer.pth'
    torch.save(dict(state_dict=trainer.state_dict()), checkpoint)  # a tokenizer-stage checkpoint
    out = tmp_path / 'latents.npz'
    source = ['train_dataloader.dataset.source.num_samples=8']
    tool.main([str(CONFIG), str(checkpoint), '--out', str(out), '--batch-size', '3',
               '--cfg-options', *source])
    with np.load(out) as data:
        assert data['latents'].shape == (8, 2, 8, 8, 8)  # N, views, Cvae, 8 x 8 latent
        meta = json.loads(str(data['meta']))
    assert meta['tokenizer_sha256'] == tokenizer_digest(trainer.tokenizer)
    assert meta['source']['num_samples'] == 8 and meta['checkpoint'] == str(checkpoint)

    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict(dict(a.split('=') for a in source))
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    dataset_cfg.update(latent_file=str(out), source=dict(dataset_cfg['source'], num_samples=8))
    dataset_cfg.pop('type')
    assert len(LatentDataset(**dataset_cfg)) == 8  # the config accepts the file


def test_wrong_checkpoints_name_the_problem(tool, trainer, tmp_path):
    no_tokenizer = tmp_path / 'backbone_only.pth'
    torch.save({'backbone.w': torch.zeros(1)}, no_tokenizer)
    with pytest.raises(CheckpointMismatchError, match='no tokenizer'):
        tool.main([str(CONFIG), str(no_tokenizer), '--out', str(tmp_path / 'a.npz')])
    partial = tmp_path / 'partial.pth'
    state = dict(trainer.state_dict())
    state.pop('tokenizer.quant_conv.weight')
    torch.save(state, partial)
    with pytest.raises(CheckpointMismatchError, match='missing keys: quant_conv.weight'):
        tool.main([str(CONFIG), str(partial), '--out', str(tmp_path / 'b.npz')])
    noise = tmp_path / 'noise.pth'
    noise.write_text('not a checkpoint')
    with pytest.raises(CheckpointReadError, match='noise.pth is not a checkpoint: '):
        tool.main([str(CONFIG), str(noise), '--out', str(tmp_path / 'c.npz'),
                   '--trust-checkpoint'])
    assert not any((tmp_path / name).exists() for name in ('a.npz', 'b.npz', 'c.npz'))
