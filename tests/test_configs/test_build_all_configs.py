"""Every config under configs/ loads; every model config builds (tiny) and SAR configs train.

The tiny overrides replace sizes only, never a component type; the per-step scale
schedules themselves are tested in tests/test_models/test_utils/test_scale_schedule.py.
"""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import sar_mm.models  # noqa: F401  (registers every component)
from sar_mm.registry import MODELS
from sar_mm.testing.tiny_components import tiny_component_settings
from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
CONFIGS = sorted(p.relative_to(CONFIG_DIR).as_posix() for p in CONFIG_DIR.rglob('*.py'))

# Tiny stand-ins that keep each component's type (and so its code path): 8 px images,
# downsample 2, scales 1..4 (VAR's tokenizer and backbone are built for a fixed schedule).
TINY_PATCH_NUMS = (1, 2, 3, 4)
TINY_TOKENIZERS, TINY_BACKBONES = tiny_component_settings(TINY_PATCH_NUMS)


def tiny_model_cfg(cfg: Config) -> dict:
    model = cfg.model.to_dict()
    tokenizer_type, backbone_type = model['tokenizer']['type'], model['backbone']['type']
    assert tokenizer_type in TINY_TOKENIZERS, f'add a tiny override for {tokenizer_type}'
    assert backbone_type in TINY_BACKBONES, f'add a tiny override for {backbone_type}'
    model['tokenizer'] = dict(model['tokenizer'], **TINY_TOKENIZERS[tokenizer_type])
    model['backbone'] = dict(model['backbone'], **TINY_BACKBONES[backbone_type])
    model['scale_schedule'] = dict(type='FixedScaleSchedule', patch_nums=TINY_PATCH_NUMS)
    model['test_cfg'] = dict(model['test_cfg'], patch_nums=TINY_PATCH_NUMS)
    return model


def test_configs_were_found():
    assert any(c.startswith('sar/') for c in CONFIGS) and any(c.startswith('var/') for c in CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_loads_and_builds(name):
    assert re.fullmatch(r'[a-z0-9_/]+\.py', name), f'config names use [a-z0-9_]: {name}'
    path = CONFIG_DIR / name
    assert path.read_text().startswith('#'), f'{name} needs a header comment'
    cfg = Config.fromfile(str(path))
    if 'model' not in cfg:
        return
    register_all_modules(init_default_scope=False)
    check_runner_config(cfg)  # every type and argument is known (what tools/train.py checks)
    if cfg.model.type != 'ScaleWiseAR':  # the toy tokenizer trainer and classifier: tiny as is
        model = MODELS.build(cfg.model)
        size = cfg.train_dataloader.dataset.get('image_size', 32)
        images = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)
        data = model.data_preprocessor(dict(inputs=images,
                                            data_samples=dict(labels=torch.tensor([1, 2]))), True)
        total, _ = model.parse_losses(model(**data, mode='loss'))
        assert torch.isfinite(total)
        return
    model = MODELS.build(tiny_model_cfg(cfg))
    assert {k.split('.')[0] for k in model.state_dict()} == {'tokenizer', 'backbone'}
    if 'test_dataloader' in cfg:  # an evaluation config must sample with its test_cfg
        model.eval()
        out = model(None, dict(labels=torch.tensor([3]), seeds=torch.tensor([0]),
                               sample_idx=torch.tensor([0])), mode='predict')
        assert out[0]['fake_img'].dtype == torch.uint8 and out[0]['fake_img'].shape[0] == 3
    if not name.startswith('sar/'):
        return
    # a SAR-family config must train: one loss step with its own rollout and loss
    assert cfg.load_from.startswith('checkpoints/')
    torch.manual_seed(0)
    model.train()
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    data = model.data_preprocessor(dict(inputs=images,
                                        data_samples=dict(labels=torch.tensor([1, 2]))), True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(total)
    assert model.backbone.head.weight.grad is not None
