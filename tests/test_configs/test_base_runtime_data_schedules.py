"""The shared runtime, dataset and schedule configs build and mean what they say."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from PIL import Image

from sar_mm.registry import HOOKS, PARAM_SCHEDULERS, VISUALIZERS
from sar_mm.utils.precision import resolve_precision
from sar_mm.utils.setup_env import register_all_modules

BASE = Path(__file__).resolve().parents[2] / 'configs' / '_base_'


@pytest.fixture(autouse=True)
def sar_mm_scope() -> None:
    register_all_modules(init_default_scope=False)
    init_default_scope('sar_mm')


def test_default_runtime(tmp_path: Path):
    cfg = Config.fromfile(BASE / 'default_runtime.py')
    assert cfg.default_scope == 'sar_mm'
    hooks = {name: HOOKS.build(hook) for name, hook in cfg.default_hooks.items()}
    assert type(hooks['rng_state']).__name__ == 'RNGStateHook'
    assert hooks['checkpoint'].max_keep_ckpts == 3 and hooks['checkpoint'].save_last
    assert cfg.env_cfg.dist_cfg.timeout == 1800
    assert cfg.randomness == dict(seed=0, diff_rank_seed=True, deterministic=False)
    visualizer = VISUALIZERS.build(dict(cfg.visualizer, name='base_runtime_test',
                                        save_dir=str(tmp_path)))
    assert [type(b).__name__ for b in visualizer._vis_backends.values()] == [
        'LocalVisBackend', 'TensorboardVisBackend']


@pytest.mark.parametrize('name,size', [('synthetic_shapes_32.py', 32),
                                       ('synthetic_shapes_64.py', 64)])
def test_synthetic_dataloaders(name, size):
    cfg = Config.fromfile(BASE / 'datasets' / name)
    loader_cfg = cfg.train_dataloader
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=3)
    loader_cfg.dataset.num_samples = 5
    batch = next(iter(Runner.build_dataloader(loader_cfg.to_dict(), seed=0)))
    assert batch['inputs'].shape == (3, 3, size, size) and batch['inputs'].dtype == torch.uint8
    assert batch['data_samples']['labels'].dtype == torch.int64


@pytest.mark.parametrize('name,size', [('imagenet_256.py', 256), ('imagenet_512.py', 512)])
def test_imagenet_dataloaders(tmp_path: Path, name, size):
    """Official list layout: ``train.txt`` + ``train/<relative path>``, ADM crop to ``size``."""
    for i, wh in enumerate([(300, 280), (200, 330)]):
        path = tmp_path / 'train' / f'n{i}' / f'img{i}.JPEG'
        path.parent.mkdir(parents=True)
        Image.new('RGB', wh, (40 * i, 100, 200)).save(path)
    (tmp_path / 'train.txt').write_text('n0/img0.JPEG 5\nn1/img1.JPEG 9\n')
    cfg = Config.fromfile(BASE / 'datasets' / name)
    loader_cfg = cfg.train_dataloader
    assert loader_cfg.pop('global_batch_size') == 768  # the official --bs
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    loader_cfg.dataset.data_root = str(tmp_path)
    batch = next(iter(Runner.build_dataloader(loader_cfg.to_dict(), seed=0)))
    assert batch['inputs'].shape == (2, 3, size, size) and batch['inputs'].dtype == torch.uint8
    assert sorted(batch['data_samples']['labels'].tolist()) == [5, 9]


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.pos_start = nn.Parameter(torch.zeros(1, 1, 4))


def _lrs(cfg: Config, epoch_length: int) -> list:
    """The lr of every training iteration under ``cfg.param_scheduler``."""
    wrapper = build_optim_wrapper(_Tiny(), cfg.optim_wrapper)
    schedulers = [PARAM_SCHEDULERS.build(s, default_args=dict(optimizer=wrapper,
                                                              epoch_length=epoch_length))
                  for s in cfg.param_scheduler]
    lrs = []
    for _ in range(cfg.train_cfg.max_epochs * epoch_length):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()  # no gradients: a no-op that keeps the step order
        for scheduler in schedulers:
            scheduler.step()
    return wrapper, lrs


def test_sar_lin0_tail_schedule():
    """train_SAR_d16.sh: AdamW (0.9, 0.95), wd 0.05 off for positions, clip 2, 11 epochs of
    the lin0 tail from epoch 179 of 190 (Lin0LR's numbers: tests/test_engine/test_schedulers)."""
    cfg = Config.fromfile(BASE / 'schedules' / 'sar_lin0_tail.py')
    wrapper, lrs = _lrs(cfg, epoch_length=3)
    assert type(wrapper).__name__ == 'SkipNonFiniteAmpOptimWrapper'
    assert wrapper.cast_dtype == resolve_precision('auto').dtype  # the machine's choice
    assert wrapper.max_loss_scale == 32768.0 and wrapper.clip_grad_kwargs == dict(max_norm=2.0)
    groups = wrapper.optimizer.param_groups
    assert [g['weight_decay'] for g in groups] == [0.05, 0.0]
    assert [p.shape for p in groups[0]['params']] == [(4, 4)]
    assert groups[0]['betas'] == (0.9, 0.95)
    assert len(lrs) == 33
    assert lrs[-1] == pytest.approx(0.1 * 3e-4)  # lin0 ends at wpe x peak
    assert all(a > b for a, b in zip(lrs, lrs[1:]))  # linear decay, no warmup
    assert cfg.auto_scale_lr.base_batch_size == 768


def test_tf_pretrain_schedule():
    cfg = Config.fromfile(BASE / 'schedules' / 'tf_pretrain.py')
    _, lrs = _lrs(cfg, epoch_length=4)
    assert lrs[0] == pytest.approx(0.005 * 1e-3)
    # the warmup reaches the peak on the last iteration of the first epoch
    assert lrs[3] == pytest.approx(1e-3) and lrs[4] == pytest.approx(1e-3)
    assert max(lrs) == pytest.approx(1e-3) and lrs[2] < 1e-3 and lrs[5] < 1e-3
    assert lrs[-1] == pytest.approx(0.1 * 1e-3)
