"""Lin0LR walks the official lin0 schedule (VAR/FlexVAR/SAR utils/lr_control.py)."""
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from sar_mm.engine import lin0_lr_factor
from sar_mm.registry import PARAM_SCHEDULERS
from sar_mm.utils.setup_env import register_all_modules

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'sar'
IMAGENET_ITERS = math.ceil(1281167 / 768)  # 1669: the official epoch at global batch 768


def official_lin0(peak, cur_it, wp_it, max_it, wp0=0.005, wpe=0.1):
    """``lr_wd_annealing(sche_type='lin0')`` of the official trainers, written out again."""
    wp_it = round(wp_it)
    if cur_it < wp_it:
        return peak * (wp0 + (1 - wp0) * cur_it / wp_it)
    pasd = (cur_it - wp_it) / (max_it - 1 - wp_it)
    rest = 1 - pasd
    if pasd < 0.05:
        return peak
    return peak * (wpe + (1 - wpe) * rest / 0.95)


@pytest.fixture(autouse=True)
def sar_mm_scope() -> None:
    register_all_modules(init_default_scope=False)
    init_default_scope('sar_mm')


def _wrapper(lr: float):
    return build_optim_wrapper(nn.Linear(2, 2), dict(optimizer=dict(type='AdamW', lr=lr)))


def test_factor_by_hand():
    # horizon 10 epochs x 10 iterations: warmup round(0.2 x 10) = 2 iterations
    assert lin0_lr_factor(0, 10, 10, 0.1) == pytest.approx(0.005)
    assert lin0_lr_factor(1, 10, 10, 0.1) == pytest.approx(0.005 + 0.995 / 2)
    assert lin0_lr_factor(2, 10, 10, 0.1) == 1.0  # flat 5 %: passed = 0
    assert lin0_lr_factor(99, 10, 10, 0.1) == pytest.approx(0.1)  # the last iteration
    # passed = 48.5 / 97 = 0.5: 0.1 + 0.9 x 0.5 / 0.95
    assert lin0_lr_factor(50.5, 10, 10, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 / 0.95)


def test_scheduler_follows_the_formula_every_iteration():
    """A run resumed at epoch 7 of a 10-epoch horizon, 3 epochs of 5 iterations."""
    wrapper = _wrapper(2e-4)
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='Lin0LR', total_epochs=10, start_epoch=7, final_ratio=0.1, by_epoch=True,
             begin=0, end=3, convert_to_iter_based=True),
        default_args=dict(optimizer=wrapper, epoch_length=5))
    lrs = []
    for _ in range(15):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()
        scheduler.step()
    expected = [official_lin0(2e-4, 35 + k, 10 / 50 * 5, 50) for k in range(15)]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[-1] == pytest.approx(0.1 * 2e-4, rel=1e-12)


def test_after_a_linear_warmup_it_counts_from_its_begin():
    """LinearLR over epoch 0, then Lin0LR from epoch 1: a run resumed at epoch 5 of 10.

    MMEngine's ``last_step`` is 0 at iteration ``begin``, so run iteration
    ``5 + k`` (``k`` counted from Lin0LR's begin) gets the official lin0 lr of
    global iteration ``5 x 5 + k``.
    """
    peak, epoch_length, warmup_end, end = 2e-4, 5, 1, 4
    wrapper = _wrapper(peak)
    schedulers = [
        PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=wrapper,
                                                      epoch_length=epoch_length))
        for cfg in (dict(type='LinearLR', start_factor=0.1, end_factor=1.0, by_epoch=True,
                         begin=0, end=warmup_end, convert_to_iter_based=True),
                    dict(type='Lin0LR', total_epochs=10, start_epoch=5, final_ratio=0.1,
                         by_epoch=True, begin=warmup_end, end=end, convert_to_iter_based=True))
    ]
    lrs = []
    for _ in range(end * epoch_length):
        lrs.append(wrapper.optimizer.param_groups[0]['lr'])
        wrapper.optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    assert lrs[0] == pytest.approx(0.1 * peak)  # the warm-up's start
    begin = warmup_end * epoch_length
    for run_it in (begin, (begin + end * epoch_length) // 2, end * epoch_length - 1):
        expected = official_lin0(peak, 5 * epoch_length + run_it - begin, 10 / 50 * epoch_length,
                                 10 * epoch_length)
        assert lrs[run_it] == pytest.approx(expected, rel=1e-12), run_it


def test_an_open_end_is_refused():
    with pytest.raises(ValueError, match='finite end'):
        PARAM_SCHEDULERS.build(
            dict(type='Lin0LR', total_epochs=10, start_epoch=0, final_ratio=0.1, by_epoch=True,
                 begin=0, convert_to_iter_based=True),
            default_args=dict(optimizer=_wrapper(1e-4), epoch_length=5))


def test_past_the_horizon_or_epoch_based_is_refused():
    with pytest.raises(ValueError, match='past its horizon'):
        PARAM_SCHEDULERS.build(
            dict(type='Lin0LR', total_epochs=10, start_epoch=8, final_ratio=0.1, by_epoch=True,
                 begin=0, end=3, convert_to_iter_based=True),
            default_args=dict(optimizer=_wrapper(1e-4), epoch_length=5))
    with pytest.raises(ValueError, match='convert_to_iter_based'):
        PARAM_SCHEDULERS.build(dict(type='Lin0LR', total_epochs=10, final_ratio=0.1),
                               default_args=dict(optimizer=_wrapper(1e-4)))


# config, horizon (--ep), start epoch, peak, wpe, epochs run, lr at the first and
# last iteration as the SAR scripts / paper state them
RECIPES = [
    ('flexvar_d16_sar.py', 190, 179, 3e-4, 0.1, 11, 4.679e-5, 3.0e-5),
    ('flexvar_d20_sar.py', 260, 249, 3e-4, 0.1, 11, 4.227e-5, 3.0e-5),
    ('flexvar_d24_sar.py', 360, 349, 2.4e-4, 0.01, 11, 1.02e-5, 2.4e-6),
    ('flexvar_d16_sar_paper.py', 180, 170, 3e-4, 0.1, 10, 4.61e-5, 3.0e-5),
    ('flexvar_d20_sar_paper.py', 250, 240, 3e-4, 0.1, 10, 4.16e-5, 3.0e-5),
    ('flexvar_d24_sar_paper.py', 350, 340, 2.4e-4, 0.01, 10, 9.69e-6, 2.4e-6),
]


@pytest.mark.parametrize('name,ep,start,peak,wpe,epochs,first,last', RECIPES)
def test_recipe_lr_at_first_and_last_iteration(name, ep, start, peak, wpe, epochs, first, last):
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.train_dataloader.global_batch_size == 768
    wrapper = build_optim_wrapper(nn.Linear(2, 2), dict(
        optimizer=cfg.optim_wrapper.optimizer.to_dict()))
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(peak)
    (scheduler_cfg, ) = cfg.param_scheduler
    scheduler = PARAM_SCHEDULERS.build(scheduler_cfg, default_args=dict(
        optimizer=wrapper, epoch_length=IMAGENET_ITERS))
    wp_it, max_it = ep / 50 * IMAGENET_ITERS, ep * IMAGENET_ITERS
    lr_first = wrapper.optimizer.param_groups[0]['lr']
    assert lr_first == pytest.approx(official_lin0(peak, start * IMAGENET_ITERS, wp_it, max_it,
                                                   wpe=wpe), rel=1e-12)
    assert lr_first == pytest.approx(first, rel=1e-3)
    # jump to the last iteration of the run (the schedule is closed-form)
    scheduler.last_step = epochs * IMAGENET_ITERS - 2
    wrapper.optimizer.step()  # no gradients: a no-op that keeps the step order
    scheduler.step()
    lr_last = wrapper.optimizer.param_groups[0]['lr']
    assert lr_last == pytest.approx(official_lin0(peak, (start + epochs) * IMAGENET_ITERS - 1,
                                                  wp_it, max_it, wpe=wpe), rel=1e-12)
    assert lr_last == pytest.approx(last, rel=1e-9)
    torch.testing.assert_close(torch.tensor(lr_last), torch.tensor(wpe * peak))
