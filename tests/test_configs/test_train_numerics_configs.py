"""Which configs train with the official trainers' TF32 / cuDNN flags (``train_numerics``)."""
from pathlib import Path

import pytest
from mmengine.config import Config

from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
OFF = dict(tf32=False, cudnn_benchmark=False, cudnn_deterministic=False)
# utils/arg_util.py of the official trainers: TF32 on, benchmark = (pg == 0), deterministic
# when a seed is set (FlexVAR and SAR: seed 0; VAR: seed None)
FLEXVAR_SAR = dict(tf32=True, cudnn_benchmark=True, cudnn_deterministic=True)
VAR = dict(tf32=True, cudnn_benchmark=True, cudnn_deterministic=False)


def _expected(path: Path) -> dict:
    if path.parent.name == 'toy':
        return OFF
    if path.parent.name == 'var' or path.name.startswith('var_'):
        return VAR
    return FLEXVAR_SAR


@pytest.mark.parametrize('path', sorted(p for folder in ('var', 'flexvar', 'sar', 'toy')
                                        for p in (CONFIGS / folder).glob('*.py')),
                         ids=lambda p: f'{p.parent.name}/{p.name}')
def test_train_numerics_of_every_config(path: Path):
    assert Config.fromfile(path).train_numerics == _expected(path)


def test_default_runtime_is_off_and_a_known_key():
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(CONFIGS / 'sar' / 'flexvar_d16_sar.py')
    check_runner_config(cfg)  # not taken for a misspelt Runner argument
    assert Config.fromfile(CONFIGS / '_base_' / 'default_runtime.py').train_numerics == OFF
