"""Settings and requests checked where the user's terms are known (issue 24, item 4): component
arguments against their class's signature, --cfg-options keys, whole-number labels and seeds,
strictly increasing schedules, empty class folders, batched demo drawing."""
from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from reliability_runs import CONFIGS, EPOCH_CONFIG

from sar_mm.apis import edit_images, init_generator, sample_images
from sar_mm.apis.demo_batches import draw_in_batches
from sar_mm.datasets import ImageNetDataset
from sar_mm.models.utils import SamplingConfig
from sar_mm.utils.config_validation import check_cfg_options, check_runner_config

SAMPLE_CONFIG = CONFIGS / 'tiny_flexvar_sample.py'


@pytest.fixture(scope='module')
def generator():
    torch.manual_seed(0)
    return init_generator(str(SAMPLE_CONFIG))


def _with(option: dict) -> Config:
    cfg = Config.fromfile(EPOCH_CONFIG)
    cfg.merge_from_dict(option)
    return cfg


@pytest.mark.parametrize('option,message', [
    ({'default_hooks.checkpoint.intervall': 1},
     "default_hooks.checkpoint.intervall: CheckpointHook takes no argument 'intervall'. Did you "
     "mean 'interval'?"),
    ({'optim_wrapper.optimizer.weight_decy': 0.1}, "Did you mean 'weight_decay'?"),
    ({'optim_wrapper.clip_gard': dict(max_norm=1)}, "Did you mean 'clip_grad'?"),
    ({'model.backbone.dpeth': 2}, "model.backbone.dpeth: FlexVARTransformer takes no argument"),
    ({'train_dataloader.dataset.imagesize': 8}, "Did you mean 'image_size'?"),
    ({'train_cfg.max_epoch': 2}, "Did you mean 'max_epochs'?"),
    ({'default_hooks.chekpoint.interval': 2},
     "default_hooks.chekpoint has no type, so it is no hook of the config. Did you mean "
     "'checkpoint'?"),
])
def test_unknown_component_argument_is_named(option, message):
    with pytest.raises(KeyError) as error:
        check_runner_config(_with(option))
    assert message in str(error.value)


@pytest.mark.parametrize('option,message', [
    ({'model.backbone.depth': 'abc'}, "model.backbone.depth of FlexVARTransformer must be a whole "
                                      "number, got 'abc'"),
    ({'train_cfg.max_epochs': 1.5}, 'must be a whole number, got 1.5'),
    ({'default_hooks.checkpoint.by_epoch': 'no'}, "must be True or False, got 'no'"),
])
def test_wrongly_typed_argument_is_named(option, message):
    with pytest.raises(ValueError, match=message):
        check_runner_config(_with(option))


def test_legitimate_arguments_pass():
    check_runner_config(_with({'default_hooks.checkpoint.interval': 2,
                               'optim_wrapper.optimizer.lr': 1,  # an int where float is asked
                               'model.backbone.init_adaln_gamma': None}))  # Optional[float]


def test_cfg_options_whose_first_key_names_nothing():
    cfg = Config.fromfile(EPOCH_CONFIG)
    with pytest.raises(KeyError, match="--cfg-options foo: the config has no key 'foo'"):
        check_cfg_options(cfg, {'foo': 1})
    with pytest.raises(KeyError, match="did you mean 'train_cfg'"):
        check_cfg_options(cfg, {'trian_cfg.max_epochs': 1})
    check_cfg_options(cfg, {'train_cfg.max_epochs': 1, 'load_from': 'a.pth'})  # a Runner key
    with pytest.raises(KeyError, match="no key 'load_from'"):
        check_cfg_options(Config.fromfile(SAMPLE_CONFIG), {'load_from': 'a.pth'},
                          for_runner=False)


def test_fractional_labels_and_seeds_are_refused(generator):
    with pytest.raises(ValueError, match=r'class labels must be whole numbers, got \[1.7\]'):
        sample_images(generator, [1.7, 2])
    with pytest.raises(ValueError, match=r'seeds must be whole numbers, got \[0.5\]'):
        sample_images(generator, [1, 2], seeds=[0.5, 1])
    image = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r'class labels must be whole numbers, got \[1.7\]'):
        edit_images(generator, image, None, 1.7, keep_scales=1)
    with pytest.raises(ValueError, match=r'seeds must be whole numbers, got \[0.2\]'):
        edit_images(generator, image, None, 1, seeds=[0.2], keep_scales=1)
    # whole numbers of any type are the same request
    expected = sample_images(generator, [1, 2], seeds=[3, 4])
    assert np.array_equal(sample_images(generator, np.array([1.0, 2.0]), seeds=[3.0, 4]),
                          expected)


@pytest.mark.parametrize('patch_nums', [(1, 1, 2), (1, 4, 2), (2, 3, 4)])
def test_schedule_must_start_at_1_and_strictly_increase(patch_nums, generator):
    with pytest.raises(ValueError, match='a schedule must'):
        SamplingConfig(patch_nums=patch_nums)
    with pytest.raises(ValueError, match='a schedule must'):
        sample_images(generator, [1], patch_nums=patch_nums)


def test_empty_class_folder_is_refused(tmp_path: Path):
    for name in ('a', 'c'):
        (tmp_path / name).mkdir()
        mmcv.imwrite(np.zeros((4, 4, 3), dtype=np.uint8), str(tmp_path / name / 'x.png'))
    (tmp_path / 'b').mkdir()  # would take label 1 and shift 'c' to 2
    (tmp_path / 'b' / 'notes.txt').write_text('no image here')
    with pytest.raises(ValueError, match=r"class folders without images in .*: \['b'\]"):
        ImageNetDataset(data_prefix=dict(img_path=str(tmp_path)))
    (tmp_path / 'b' / 'notes.txt').unlink()
    (tmp_path / 'b').rmdir()
    dataset = ImageNetDataset(data_prefix=dict(img_path=str(tmp_path)))
    assert [dataset.get_data_info(i)['gt_label'] for i in range(2)] == [0, 1]


def test_drawing_in_batches_gives_the_single_call_images(generator, capsys):
    labels, seeds = [1, 2, 3, 4, 5], [7, 8, 9, 10, 11]
    whole = sample_images(generator, labels, seeds=seeds, return_scale_images=True)
    batched = draw_in_batches(
        lambda start, stop: sample_images(generator, labels[start:stop], seeds=seeds[start:stop],
                                          return_scale_images=True), len(labels), 2)
    assert np.array_equal(batched[0], whole[0])
    assert all(np.array_equal(b, w) for b, w in zip(batched[1], whole[1]))
    assert '5/5' in capsys.readouterr().out  # the progress bar reached the end
