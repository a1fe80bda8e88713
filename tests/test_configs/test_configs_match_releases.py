"""Every VAR / FlexVAR / SAR config builds the model the converted official release fits.

The released checkpoints' layouts (``shared/fixtures/official_keys``) go through
the converters on the meta device, and the config's model, also built on the
meta device, must have exactly the converted keys and shapes: a converted
release then loads into ``tools/test.py``, ``demo/sample_demo.py`` and a
training config's ``load_from`` with ``strict=True``.
"""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import sar_mm.models  # noqa: F401  (registers every component)
from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.registry import MODELS

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs'
CONFIGS = sorted(
    p.relative_to(CONFIG_DIR).as_posix() for family in ('flexvar', 'var', 'sar')
    for p in (CONFIG_DIR / family).glob('*.py'))

# backbone type -> (transformer manifest name pattern, tokenizer manifest, converter)
RELEASES = dict(
    FlexVARTransformer=('flexvar_d{depth}', 'flexvae', convert_flexvar_checkpoints),
    VARTransformer=('var_d{depth}', 'var_vqvae_ch160v4096z32', convert_var_checkpoints),
)


def meta_state_dict(official_keys_dir: Path, name: str) -> dict:
    """Tensors with a release's keys, shapes and dtypes, without storage."""
    manifest = json.loads((official_keys_dir / f'{name}.json').read_text())
    return {k: torch.empty(shape, dtype=getattr(torch, dtype), device='meta')
            for k, (shape, dtype) in manifest['keys'].items()}


def test_configs_were_found():
    assert {c.split('/')[0] for c in CONFIGS} == {'flexvar', 'var', 'sar'}


@pytest.mark.parametrize('name', CONFIGS)
def test_config_model_fits_the_converted_release(official_keys_dir, name):
    cfg = Config.fromfile(str(CONFIG_DIR / name))
    backbone = cfg.model.backbone
    transformer, tokenizer, convert = RELEASES[backbone.type]
    converted = convert(
        meta_state_dict(official_keys_dir, transformer.format(depth=backbone.depth)),
        meta_state_dict(official_keys_dir, tokenizer))['state_dict']
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    expected = {k: tuple(v.shape) for k, v in converted.items()}
    actual = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(expected) - set(actual)) == [], 'keys the model lacks'
    assert sorted(set(actual) - set(expected)) == [], 'keys the release lacks'
    assert {k: (actual[k], v) for k, v in expected.items() if actual[k] != v} == {}


@pytest.mark.parametrize('name', CONFIGS)
def test_release_configs_evaluate_on_the_canonical_schedule(name):
    # configs hold the schedule as a literal; this ties it to the one constant
    model = Config.fromfile(str(CONFIG_DIR / name)).model
    assert tuple(model.test_cfg.patch_nums) == CANONICAL_PATCH_NUMS
    fixed = model.scale_schedule.get('patch_nums')
    assert fixed is None or tuple(fixed) == CANONICAL_PATCH_NUMS
    for part in (model.tokenizer, model.backbone):
        assert tuple(part.get('patch_nums', CANONICAL_PATCH_NUMS)) == CANONICAL_PATCH_NUMS
