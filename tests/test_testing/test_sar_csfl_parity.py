"""Acceptance: one SAR step of sar_mm equals the official trainer's (fixture sar_csfl_step)."""
import pytest
import torch

from sar_mm.models.rollouts import StaggerScaleRollout
from sar_mm.testing import (Tolerance, check_sar_csfl_step, compare_close, compare_exact,
                            format_rows, rows_by_name)
from sar_mm.testing import sar_csfl_parity


def test_sar_step_matches_the_official_trainer(reference_dir):
    rows = check_sar_csfl_step(reference_dir)
    failed = [r for r in rows if not r.passed]
    assert not failed, '\n' + format_rows(rows)
    names = rows_by_name(rows)
    for key in ('gt_idx_per_scale', 'tf_argmax_idx_per_scale', 'sf_target_idx', 'x_sf',
                'tf_loss', 'sf_loss', 'total_loss', 'grad_norm (fp64)', 'grad head.bias'):
        assert key in names


def test_the_check_fails_for_a_wrong_target(reference_dir, monkeypatch):
    build = sar_csfl_parity.build_sar_step_model

    def naive_sf_model(path):
        model = build(path)
        model.rollout = StaggerScaleRollout(token_selection='argmax', rollout_cfg=0.0,
                                            target='gt')
        return model

    monkeypatch.setattr(sar_csfl_parity, 'build_sar_step_model', naive_sf_model)
    names = rows_by_name(check_sar_csfl_step(reference_dir))
    assert not names['sf_target_idx'].passed and not names['sf_loss'].passed
    assert names['tf_loss'].passed and names['x_sf'].passed


def test_compare_helpers():
    row = compare_close('x', torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.1]),
                        Tolerance(atol=0.05))
    assert not row.passed and row.max_abs_err == pytest.approx(0.1)
    assert compare_close('x', torch.tensor([1.0]), torch.tensor([1.05]), Tolerance(rtol=0.1)).passed
    assert not compare_close('x', torch.zeros(2), torch.zeros(3), Tolerance(atol=1.0)).passed
    row = compare_exact('idx', [torch.tensor([1, 2]), torch.tensor([3])],
                        [torch.tensor([1, 0]), torch.tensor([4])])
    assert row.max_abs_err == 2 and not row.passed
    assert not compare_exact('idx', [torch.tensor([1])], [torch.tensor([1]), torch.tensor([2])]).passed
