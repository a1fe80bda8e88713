"""Scenario 4a: unknown config keys and unregistered ``type`` names fail at once, clearly."""
import sys

import pytest
from mmengine.config import Config
from reliability_runs import ITER_CONFIG, REPO
from script_loading import load_script

from sar_mm.registry import MODELS
from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules


@pytest.fixture(scope='module')
def cfg() -> Config:
    register_all_modules(init_default_scope=False)
    return Config.fromfile(ITER_CONFIG)


def test_misspelt_component_argument_is_named(cfg):
    model = cfg.model.copy()
    model.backbone = dict(model.backbone, depht=2)
    with pytest.raises(TypeError, match=r"FlexVARTransformer.__init__\(\) got an unexpected "
                                        r"keyword argument 'depht'"):
        MODELS.build(model)


def test_unregistered_child_type_lists_the_registered_names(cfg):
    model = cfg.model.copy()
    model.rollout = dict(model.rollout, type='StaggerScaleRolout')
    with pytest.raises(KeyError) as error:
        MODELS.build(model)
    message = str(error.value)
    assert "'StaggerScaleRolout'" in message and 'sar_mm::rollout' in message
    assert "Did you mean 'StaggerScaleRollout'" in message
    for name in ('TeacherForcing', 'StudentForcing', 'HybridTFSF', 'StaggerScaleRollout'):
        assert name in message.split('Registered names:')[1]


@pytest.mark.parametrize('path,value,registry', [
    ('model.type', 'ScaleWiseARR', 'sar_mm::model'),
    ('model.scale_schedule.type', 'FlexVARRandomSchedule', 'sar_mm::task util'),
    ('train_dataloader.dataset.type', 'SyntheticShapeDataset', 'sar_mm::dataset'),
    ('train_dataloader.dataset.pipeline.0.type', 'RandomFlop', 'sar_mm::transform'),
    ('default_hooks.rng_state.type', 'RNGStatesHook', 'sar_mm::hook'),
    ('train_cfg.type', 'IterBasedTrainLop', 'sar_mm::loop'),
])
def test_unregistered_runner_component_type(cfg, path, value, registry):
    broken = Config(cfg.to_dict())
    broken.merge_from_dict({path: value}, allow_list_keys=True)
    with pytest.raises(KeyError) as error:
        check_runner_config(broken)
    message = str(error.value)
    where = path.rsplit('.type', 1)[0].replace('.0', '[0]')
    assert f"type '{value}' ({where}) is not registered in {registry}" in message
    assert 'Did you mean' in message and 'Registered names:' in message


def test_misspelt_top_level_key(cfg):
    broken = Config(cfg.to_dict())
    broken.trian_cfg = broken.pop('train_cfg')
    with pytest.raises(KeyError, match="unknown top-level config key 'trian_cfg': did you mean "
                                       "'train_cfg'"):
        check_runner_config(broken)


def test_train_tool_refuses_before_building_anything(tmp_path, monkeypatch):
    train = load_script(REPO / 'tools' / 'train.py', 'sar_mm_tools_train')
    monkeypatch.setattr(sys, 'argv', ['train.py', str(ITER_CONFIG), '--work-dir', str(tmp_path),
                                      '--cfg-options', 'model.backbone.type=FlexVARTransfomer'])
    with pytest.raises(KeyError, match="Did you mean 'FlexVARTransformer'"):
        train.main()
    assert list(tmp_path.iterdir()) == []  # no log, no checkpoint: nothing was started
