"""The global batch is the config's unit: per-GPU batch, accumulation and lr scaling."""
import pytest
from mmengine.config import Config

from sar_mm.engine import apply_batch_plan, launch_summary, plan_train_batch


def _cfg(accum: int = 1, enable: bool = False, **loader) -> Config:
    return Config(dict(
        train_dataloader=dict(num_workers=2, **loader),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=3e-4), accumulative_counts=accum),
        auto_scale_lr=dict(enable=enable, base_batch_size=768)))


@pytest.mark.parametrize('world_size,per_gpu', [(1, 768), (8, 96), (32, 24), (64, 12)])
def test_global_batch_is_split_over_the_ranks(world_size, per_gpu):
    plan = plan_train_batch(_cfg(global_batch_size=768), world_size)
    assert (plan.per_gpu_batch, plan.global_batch, plan.from_global) == (per_gpu, 768, True)
    assert plan.lr == 3e-4 and plan.lr_scale == 1.0


def test_gradient_accumulation_shares_the_global_batch():
    plan = plan_train_batch(_cfg(accum=4, global_batch_size=768), 8)
    assert (plan.per_gpu_batch, plan.accumulative_counts, plan.global_batch) == (24, 4, 768)


@pytest.mark.parametrize('world_size,accum,shards', [(5, 1, 5), (8, 7, 56)])
def test_an_indivisible_global_batch_is_refused(world_size, accum, shards):
    with pytest.raises(ValueError, match=f'global batch 768 cannot be split over world size '
                                         f'{world_size} x accumulative_counts {accum} = {shards}'):
        plan_train_batch(_cfg(accum=accum, global_batch_size=768), world_size)


def test_explicit_per_gpu_batch_reports_its_global_batch():
    plan = plan_train_batch(_cfg(accum=2, batch_size=24), 8)
    assert (plan.per_gpu_batch, plan.global_batch, plan.from_global) == (24, 384, False)


@pytest.mark.parametrize('loader,match', [(dict(global_batch_size=768, batch_size=24), 'keep one'),
                                          (dict(), 'needs global_batch_size'),
                                          (dict(global_batch_size=0), 'positive integer')])
def test_ambiguous_or_missing_batch_is_refused(loader, match):
    with pytest.raises(ValueError, match=match):
        plan_train_batch(_cfg(**loader), 4)


def test_auto_scale_lr_counts_gradient_accumulation():
    """MMEngine's own scaling would see 8 x 24 = 192 here and divide the lr by 4."""
    plan = plan_train_batch(_cfg(accum=4, enable=True, global_batch_size=768), 8)
    assert plan.lr_scale == 1.0 and plan.lr == pytest.approx(3e-4)
    plan = plan_train_batch(_cfg(accum=1, enable=True, batch_size=24), 8)
    assert plan.lr_scale == pytest.approx(192 / 768) and plan.lr == pytest.approx(7.5e-5)


def test_apply_writes_the_per_gpu_batch_and_scales_once():
    cfg = _cfg(accum=2, enable=True, global_batch_size=256)
    plan = apply_batch_plan(cfg, 4)
    loader = cfg.train_dataloader
    assert 'global_batch_size' not in loader and loader.batch_size == 32
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1e-4)
    assert cfg.auto_scale_lr.enable is False  # MMEngine's Runner must not scale again
    assert launch_summary(plan) == (
        'launch: 1 node(s) x 4 processes per node = world size 4, per-GPU batch 32 x '
        'accumulative_counts 2, global batch 256, base lr 0.0001 (auto-scaled x0.333333)')


def test_summary_spells_out_nodes():
    plan = plan_train_batch(_cfg(global_batch_size=768), 32, nnodes=4)
    assert launch_summary(plan) == ('launch: 4 node(s) x 8 processes per node = world size 32, '
                                    'per-GPU batch 24, global batch 768, base lr 0.0003')
    with pytest.raises(ValueError, match='not divisible by 3 nodes'):
        plan_train_batch(_cfg(global_batch_size=768), 32, nnodes=3)
