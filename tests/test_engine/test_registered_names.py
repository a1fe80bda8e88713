"""sar_mm's engine classes have their own names; MMEngine's names mean MMEngine's classes."""
import mmengine.optim
import mmengine.runner
import pytest
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from sar_mm.engine import (MidEpochResumableTrainLoop, SkipNonFiniteAmpOptimWrapper,
                           SkipNonFiniteOptimWrapper)
from sar_mm.registry import LOOPS, OPTIM_WRAPPERS


@pytest.mark.parametrize('registry,name,cls', [
    (OPTIM_WRAPPERS, 'OptimWrapper', mmengine.optim.OptimWrapper),
    (OPTIM_WRAPPERS, 'AmpOptimWrapper', mmengine.optim.AmpOptimWrapper),
    (LOOPS, 'EpochBasedTrainLoop', mmengine.runner.EpochBasedTrainLoop),
    (OPTIM_WRAPPERS, 'SkipNonFiniteOptimWrapper', SkipNonFiniteOptimWrapper),
    (OPTIM_WRAPPERS, 'SkipNonFiniteAmpOptimWrapper', SkipNonFiniteAmpOptimWrapper),
    (LOOPS, 'MidEpochResumableTrainLoop', MidEpochResumableTrainLoop),
])
def test_a_type_name_resolves_to_its_own_class(registry, name, cls):
    assert registry.get(name) is cls


def test_sar_mm_registers_no_mmengine_engine_names():
    assert not {'OptimWrapper', 'AmpOptimWrapper'} & set(OPTIM_WRAPPERS.module_dict)
    assert 'EpochBasedTrainLoop' not in LOOPS.module_dict


def test_no_decay_constructor_defaults_to_the_skipping_wrapper():
    model = nn.Linear(2, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1),
                                              constructor='NoDecayOptimWrapperConstructor'))
    assert type(wrapper) is SkipNonFiniteOptimWrapper
    mmengine_wrapper = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1),
                    constructor='NoDecayOptimWrapperConstructor'))
    assert type(mmengine_wrapper) is mmengine.optim.OptimWrapper
