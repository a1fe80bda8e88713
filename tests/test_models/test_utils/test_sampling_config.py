"""SamplingConfig / SamplingNumerics: one parse of test_cfg, defaults, overrides, clear refusals."""
import dataclasses

import numpy as np
import pytest
import torch

from sar_mm.models.utils import (CFGSchedule, SamplingConfig, SamplingNumerics,
                                 split_test_cfg)

FLEXVAR_TEST_CFG = dict(patch_nums=[1, 2, 4], cfg=2, cfg_schedule='flexvar', top_k=16,
                        top_p=0.9, max_pn=16, sampled_scales=[1, 2, 3], precision='bf16',
                        batch_invariant='auto')


def test_defaults_are_the_var_fid_recipe_with_exact_numerics():
    assert SamplingConfig.from_test_cfg() == SamplingConfig(
        patch_nums=(1, 2, 3, 4, 5, 6, 8, 10, 13, 16), cfg=1.5, cfg_schedule='var', top_k=900,
        top_p=0.96, max_pn=None, sampled_scales=None, greedy=False)
    assert SamplingNumerics.from_test_cfg() == SamplingNumerics(precision='fp32', tf32=False,
                                                                batch_invariant=True,
                                                                float32_logits=True)


def test_one_test_cfg_splits_into_the_two_objects():
    sampling = SamplingConfig.from_test_cfg(FLEXVAR_TEST_CFG)
    numerics = SamplingNumerics.from_test_cfg(FLEXVAR_TEST_CFG)
    assert sampling.patch_nums == (1, 2, 4) and sampling.sampled_scales == (1, 2, 3)
    assert sampling.cfg == 2.0 and isinstance(sampling.cfg, float)
    assert (sampling.cfg_schedule, sampling.top_k, sampling.top_p, sampling.max_pn) == (
        'flexvar', 16, 0.9, 16)
    assert numerics == SamplingNumerics(precision='bf16', tf32=False, batch_invariant='auto')
    assert sampling.guidance == CFGSchedule('flexvar', 2.0, max_pn=16)
    recipe, rest = split_test_cfg(FLEXVAR_TEST_CFG)
    assert set(recipe) == {f.name for f in dataclasses.fields(SamplingConfig)} - {'greedy'}
    assert rest == dict(precision='bf16', batch_invariant='auto')


def test_overrides_and_replace():
    base = SamplingConfig.from_test_cfg(FLEXVAR_TEST_CFG, cfg=3.0, top_k=1)
    assert (base.cfg, base.top_k, base.top_p) == (3.0, 1, 0.9)
    other = base.replace(max_pn=None, patch_nums=[1, 2])
    assert other.max_pn is None and other.patch_nums == (1, 2)  # None is a value here
    assert base.max_pn == 16  # frozen: the original is unchanged
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.cfg = 1.0
    assert SamplingNumerics().replace(tf32=True).tf32 is True
    # integer-like values from NumPy or torch are accepted as ints
    assert SamplingConfig(patch_nums=np.array([1, 2]), top_k=torch.tensor(5)).top_k == 5


def test_batch_invariant_resolves_per_device():
    assert SamplingNumerics(batch_invariant='auto').batch_invariant_on('cpu') is True
    assert SamplingNumerics(batch_invariant='auto').batch_invariant_on('cuda') is False
    for value in (True, False):
        for device_type in ('cpu', 'cuda'):
            assert SamplingNumerics(batch_invariant=value).batch_invariant_on(device_type) is value


@pytest.mark.parametrize('key,value,message', [
    ('patch_nums', [], 'test_cfg.patch_nums must be a non-empty sequence of positive ints'),
    ('patch_nums', [1, 0], 'test_cfg.patch_nums must be a non-empty sequence of positive ints'),
    ('patch_nums', [1, 2.5], 'test_cfg.patch_nums must be a non-empty sequence of positive ints'),
    ('patch_nums', '124', 'test_cfg.patch_nums must be a non-empty sequence of positive ints'),
    ('cfg', -1.0, r'test_cfg.cfg must be a finite number >= 0, got -1.0'),
    ('cfg', float('nan'), 'test_cfg.cfg must be a finite number'),
    ('cfg', '2.5', "test_cfg.cfg must be a finite number >= 0, got '2.5'"),
    ('cfg_schedule', 'cosine', r"cfg_schedule must be one of \('var', 'flexvar', 'llamagen'\), "
                               "got 'cosine'"),
    ('top_k', -1, 'test_cfg.top_k must be an int >= 0'),
    ('top_k', 1.5, 'test_cfg.top_k must be an int >= 0'),
    ('top_k', True, 'test_cfg.top_k must be an int >= 0'),
    ('top_p', 1.2, r'test_cfg.top_p must be a number in \[0, 1\]'),
    ('max_pn', 0, 'test_cfg.max_pn must be a positive int or None, got 0'),
    ('sampled_scales', [1, -2], 'test_cfg.sampled_scales must be a non-empty sequence'),
    ('greedy', 'yes', "test_cfg.greedy must be True or False, got 'yes'"),
    ('precision', 'half', "precision must be 'auto' or one of"),
    ('tf32', 'on', "test_cfg.tf32 must be True or False, got 'on'"),
    ('batch_invariant', 'sometimes', "test_cfg.batch_invariant must be True, False or 'auto'"),
    ('batch_invariant', 1, "test_cfg.batch_invariant must be True, False or 'auto'"),
    ('float32_logits', 'yes', "test_cfg.float32_logits must be True or False, got 'yes'"),
])
def test_bad_values_are_refused_naming_key_and_value(key, value, message):
    owner = (SamplingNumerics if key in ('precision', 'tf32', 'batch_invariant', 'float32_logits')
             else SamplingConfig)
    with pytest.raises(ValueError, match=message):
        owner.from_test_cfg({key: value})


def test_the_sar_rollout_ramp_is_not_a_sampling_schedule():
    with pytest.raises(ValueError, match="'sar_rollout' is the guidance of SAR's training "
                                         r'rollout \(StaggerScaleRollout.rollout_cfg'):
        SamplingConfig.from_test_cfg(dict(cfg_schedule='sar_rollout'))
    with pytest.raises(ValueError, match="'sar_rollout'"):
        SamplingConfig().replace(cfg_schedule='sar_rollout')


def test_unknown_keys_are_refused_with_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown test_cfg keys \['temperature'\]; expected "
                                       r"\['batch_invariant', 'cfg', 'cfg_schedule', 'float32_logits', 'greedy'"):
        SamplingConfig.from_test_cfg(dict(temperature=1.0))
    with pytest.raises(KeyError, match='unknown test_cfg keys'):
        SamplingNumerics.from_test_cfg(cfg=2.0, temprature=1.0)
    with pytest.raises(KeyError, match=r"unknown SamplingConfig keys \['precision'\]"):
        SamplingConfig().replace(precision='bf16')
    with pytest.raises(KeyError, match=r"unknown SamplingNumerics keys \['cfg'\]"):
        SamplingNumerics().replace(cfg=2.0)
