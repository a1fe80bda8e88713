"""The official sampler's seeded draws and SAR's guided rollout step (fixtures
``reference_sampling`` and ``reference_rollout``): sar_mm draws the same tokens
and, replaying the official rollout draws, computes the same step."""
import pytest
import torch

from sar_mm.testing import (ReplayedDraws, check_fixture, check_flexvar_sampling,
                            check_sar_guided_rollout, format_rows, rows_by_name)
from sar_mm.testing import rollout_parity, sampling_parity


def test_every_sampled_token_is_the_official_one(reference_sampling_dir):
    kind, rows = check_fixture(reference_sampling_dir / 'flexvar_sampling.pt')
    assert kind == 'flexvar_sampling'
    assert all(r.passed for r in rows), '\n' + format_rows(rows)
    names = rows_by_name(rows)
    for case in ('topk', 'topp', 'eval_default', 'llamagen_cfg'):
        assert names[f'{case} idx_per_scale'].max_abs_err == 0  # exact
    assert 'eval_default cfg_logits_per_scale' in names


def test_the_sampling_check_sees_another_stream(reference_sampling_dir, monkeypatch):
    """A sampler that drew from another seed would be caught."""
    generate = sampling_parity.autoregressive_generate

    def other_seed(*args, generator, **kwargs):
        return generate(*args, generator=torch.Generator().manual_seed(1), **kwargs)

    monkeypatch.setattr(sampling_parity, 'autoregressive_generate', other_seed)
    names = rows_by_name(check_flexvar_sampling(reference_sampling_dir / 'flexvar_sampling.pt'))
    assert not names['topp idx_per_scale'].passed
    assert names['eval_default cfg_logits_per_scale'].max_abs_err > 0


def test_the_guided_rollout_step_matches_on_the_official_draws(reference_rollout_dir):
    kind, rows = check_fixture(reference_rollout_dir / 'sar_guided_rollout.pt')
    assert kind == 'sar_guided_rollout'
    assert all(r.passed for r in rows), '\n' + format_rows(rows)
    assert {'guided_logits_per_scale', 'tf_loss', 'sf_loss', 'total_loss',
            'grad_norm (fp64)'} <= set(rows_by_name(rows))


def test_other_draws_change_the_student_loss(reference_rollout_dir, monkeypatch):
    """Replaying draws that are not the official ones fails the student rows only."""
    def shifted(draws):
        return ReplayedDraws([(idx + 1) % 8912 for idx in draws])

    monkeypatch.setattr(rollout_parity, 'ReplayedDraws', shifted)
    names = rows_by_name(check_sar_guided_rollout(reference_rollout_dir / 'sar_guided_rollout.pt'))
    assert names['tf_loss'].passed and names['guided_logits_per_scale'].passed
    assert not names['sf_loss'].passed and not names['total_loss'].passed


def test_replayed_draws_need_distinct_scale_sizes():
    with pytest.raises(ValueError, match='different sizes'):
        ReplayedDraws([torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long)])
