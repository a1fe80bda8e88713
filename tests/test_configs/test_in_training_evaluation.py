"""In-training evaluation of the SAR configs: FID in the ValLoop for monitoring, sample grids.

No checkpoint is selected by the in-training FID, and its reference is not the
reporting one (the ADM reference batch of the FID-50k configs): the last
checkpoint is the result, as in the official trainers.

A real config (``configs/sar/flexvar_d16_sar.py``) keeps its val loop, metric,
checkpoint hook and ``SampleGridHook``; only sizes change: the model is shrunk
as in ``test_build_all_configs.py``, training runs on a few synthetic images,
the val set has 2 classes x 3 samples, and FID uses the tiny feature extractor
of ``tests/`` against statistics written by
``tools/analysis_tools/make_fid_ref_stats.py``.
"""
import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image
from script_loading import load_script
from test_build_all_configs import TINY_PATCH_NUMS, tiny_model_cfg

from sar_mm.testing.tiny_feature_extractor import TINY_EXTRACTOR, random_images, write_png_folder
from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules

REPO = Path(__file__).resolve().parents[2]
SAR_CONFIGS = sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / 'configs' / 'sar').glob('*.py'))
ALL_CONFIGS = sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / 'configs').glob('[!_]*/*.py'))
# the FID-50k reference batch the paper's numbers are reported against, and the
# file names its statistics had in the docs
REPORTING_REFERENCES = ('VIRTUAL_imagenet256_labeled', 'adm_in256')
GRID_LABELS = [207, 360, 387, 974, 88, 979, 417, 279]
IMAGE_SIZE = 8  # the tiny tokenizer's 2x downsampling of the 4 x 4 latent


def _make_fid_ref_stats(image_dir: Path, out: Path) -> None:
    module = load_script(REPO / 'tools' / 'analysis_tools' / 'make_fid_ref_stats.py',
                         'make_fid_ref_stats')
    module.main([str(image_dir), str(out), '--feature-extractor', TINY_EXTRACTOR, '--size', '0',
                 '--device', 'cpu'])


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_no_config_selects_a_checkpoint_by_a_metric(name):
    """The last checkpoint is the result: nothing picks the best epoch by a score."""
    checkpoint = Config.fromfile(str(REPO / name)).get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None:
        assert checkpoint.get('save_best') is None, checkpoint
        assert checkpoint.save_last


@pytest.mark.parametrize('name', SAR_CONFIGS)
def test_sar_configs_evaluate_during_training(name):
    """Every SAR/TF-continuation config monitors FID each epoch against a training subset."""
    cfg = Config.fromfile(str(REPO / name))
    register_all_modules(init_default_scope=False)
    check_runner_config(cfg)  # what tools/train.py checks first: types, top-level keys
    assert cfg.train_cfg.val_interval == 1
    assert cfg.val_cfg.type == 'ValLoop'
    assert cfg.val_dataloader.dataset.type == 'ClassLabelDataset'
    assert cfg.val_dataloader.dataset.num_classes * cfg.val_dataloader.dataset.samples_per_class \
        == 5000
    evaluator = cfg.val_evaluator
    assert evaluator.type == 'TorchFidelityMetric' and evaluator.fid
    assert not evaluator.isc and not evaluator.prc
    assert evaluator.reference == 'data/fid_stats/imagenet_train_subset_stats.npz'
    assert cfg.test_evaluator.reference != evaluator.reference
    assert not any(name in evaluator.reference for name in REPORTING_REFERENCES)
    assert cfg.val_fid_key == 'fidelity/frechet_inception_distance'
    (grid,) = cfg.custom_hooks
    assert grid.type == 'SampleGridHook' and grid.labels == GRID_LABELS and grid.show_scales


def _tiny_run(work_dir: Path, stats: Path, evaluate: bool) -> list:
    """Train the shrunk flexvar_d16_sar.py for 2 epochs x 2 iterations; returns the logs."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'sar' / 'flexvar_d16_sar.py'))
    cfg.model = tiny_model_cfg(cfg)
    # GroupNorm(32) over 32 channels rejects the 1 x 1 scale of one sample (the grid
    # decodes every scale of each seed on its own); 64 channels pass, as real sizes do
    cfg.model.tokenizer.ch = 64
    # random flips in the main process: any random number the evaluation drew from
    # the global RNGs would change the training batches
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='SyntheticShapesDataset', num_samples=4, image_size=IMAGE_SIZE,
                     seed=0, pipeline=[dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                                       dict(type='PackGeneratorInputs')]))
    if evaluate:
        cfg.val_dataloader.update(batch_size=4, num_workers=0)
        cfg.val_dataloader.dataset.update(num_classes=2, samples_per_class=3)
        cfg.val_evaluator.update(reference=str(stats), feature_extractor=TINY_EXTRACTOR,
                                 feature_extractor_weights_path=None, device='cpu')
        cfg.custom_hooks[0].interval = 2
    else:  # the override the config's header documents
        cfg.merge_from_dict({'val_dataloader': None, 'val_evaluator': None, 'val_cfg': None})
        cfg.custom_hooks = []
    cfg.train_cfg.max_epochs = 2
    cfg.param_scheduler[0].end = 2
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.load_from = None
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    register_all_modules(init_default_scope=False)
    DefaultScope._instance_dict.clear()  # the Runner sets up its own default scope
    Runner.from_cfg(cfg).train()
    return [json.loads(line) for path in work_dir.glob('*/vis_data/scalars.json')
            for line in path.read_text().splitlines()]


@pytest.fixture
def one_thread():
    """Tiny models run much faster single-threaded on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tiny_run_logs_fid_keeps_the_last_checkpoint_and_writes_grids(tmp_path: Path,
                                                                     one_thread):
    real = tmp_path / 'real'
    write_png_folder(real, random_images(8, size=IMAGE_SIZE, seed=3))
    stats = tmp_path / 'fid_stats.npz'
    _make_fid_ref_stats(real, stats)
    work = tmp_path / 'work'
    logged = _tiny_run(work, stats, evaluate=True)

    key = Config.fromfile(str(REPO / 'configs' / 'sar' / 'flexvar_d16_sar.py')).val_fid_key
    fids = [row[key] for row in logged if key in row]
    assert len(fids) == 2 and all(np.isfinite(fids)), fids
    assert not list(work.glob('best_*.pth'))
    last = Path((work / 'last_checkpoint').read_text().strip())
    assert last.name == 'epoch_2.pth'
    state = torch.load(last, map_location='cpu', weights_only=False)  # written here
    assert state['meta']['epoch'] == 2

    # 2 training iterations per epoch: grids after iterations 2 and 4 (and after training,
    # again at iteration 4)
    grids = sorted(work.glob('*/vis_data/vis_image/sample_grid_*.png'))
    assert [p.name for p in grids] == ['sample_grid_2.png', 'sample_grid_4.png']
    grid = np.asarray(Image.open(grids[-1]).convert('RGB'))
    tile = IMAGE_SIZE + 2  # make_grid pads 2 px around and between tiles
    assert grid.shape == (len(TINY_PATCH_NUMS) * tile + 2, len(GRID_LABELS) * tile + 2, 3)

    # validation and grids leave the training run unchanged
    plain = _tiny_run(tmp_path / 'plain', stats, evaluate=False)
    assert not list((tmp_path / 'plain').glob('best_*.pth'))
    losses = [(row['iter'], row['loss']) for row in logged if 'loss' in row]
    assert len(losses) == 4
    assert losses == [(row['iter'], row['loss']) for row in plain if 'loss' in row]


def _readme_no_validation_options() -> dict:
    """The ``--cfg-options`` of the README's recipe for training without evaluation, parsed as
    ``tools/train.py`` parses them."""
    readme = (REPO / 'README.md').read_text()
    match = re.search(r'To train without them[^`]*`--cfg-options ([^`]+)`', readme)
    assert match, 'the README has no "To train without them" recipe'
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *match.group(1).split()]).cfg_options


@pytest.mark.parametrize('name', SAR_CONFIGS)
def test_readme_recipe_turns_off_every_evaluation_time_hook(name):
    """The README's override leaves no val loop, metric, best-checkpoint key or hook that the
    evaluation base config adds (the sample grid among them)."""
    evaluation = Config.fromfile(str(REPO / 'configs' / '_base_' / 'evaluation' /
                                     'imagenet_256_fid_val.py'))
    evaluation_hooks = {hook['type'] for hook in evaluation.custom_hooks}
    assert 'SampleGridHook' in evaluation_hooks
    cfg = Config.fromfile(str(REPO / name))
    cfg.merge_from_dict(_readme_no_validation_options())
    register_all_modules(init_default_scope=False)
    check_runner_config(cfg)
    assert cfg.val_dataloader is None and cfg.val_evaluator is None and cfg.val_cfg is None
    assert cfg.default_hooks.checkpoint.get('save_best') is None
    hooks = list(cfg.get('custom_hooks') or []) + [h for h in cfg.default_hooks.values() if h]
    assert not evaluation_hooks & {hook['type'] for hook in hooks}
