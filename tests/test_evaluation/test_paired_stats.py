"""Paired differences, t intervals and detectable effects on hand-made numbers."""
import math

import pytest

from sar_mm.evaluation.paired_stats import (paired_difference, paired_differences_per_scale,
                                            student_t_cdf, student_t_quantile)


@pytest.mark.parametrize('p,df,expected', [
    (0.975, 1, 12.7062), (0.975, 4, 2.7764), (0.975, 9, 2.2622), (0.975, 30, 2.0423),
    (0.8, 4, 0.9410), (0.995, 2, 9.9248)])  # printed t tables
def test_t_quantiles_match_the_tables(p, df, expected):
    assert student_t_quantile(p, df) == pytest.approx(expected, abs=5e-4)
    assert student_t_quantile(1 - p, df) == pytest.approx(-expected, abs=5e-4)


def test_t_cdf_limits():
    assert student_t_cdf(0.0, 3) == pytest.approx(0.5)
    # df = 1 is the Cauchy distribution: 1/2 + atan(x)/pi
    assert student_t_cdf(2.0, 1) == pytest.approx(0.5 + math.atan(2.0) / math.pi, abs=1e-9)


def test_paired_difference_by_hand():
    # differences 1, 2, 1, 2, 1: mean 1.4, sd sqrt(0.3), se sqrt(0.3 / 5)
    d = paired_difference([3, 5, 4, 6, 2], [2, 3, 3, 4, 1])
    se = math.sqrt(0.3 / 5)
    assert (d.n, d.values) == (5, [1.0, 2.0, 1.0, 2.0, 1.0])
    assert d.mean == pytest.approx(1.4) and d.std == pytest.approx(math.sqrt(0.3))
    assert (d.ci_low, d.ci_high) == pytest.approx((1.4 - 2.77645 * se, 1.4 + 2.77645 * se),
                                                  abs=1e-4)
    assert d.detectable == pytest.approx((2.77645 + 0.94096) * se, abs=1e-4)
    assert d.excludes_zero and d.to_dict()['excludes_zero'] is True


def test_an_interval_across_zero():
    d = paired_difference([1.0, 2.0, 3.0], [2.0, 1.0, 3.0])  # differences -1, 1, 0
    assert d.mean == 0.0 and d.ci_low < 0 < d.ci_high and not d.excludes_zero


def test_per_scale_and_bad_input():
    rows = paired_differences_per_scale([[1, 10], [2, 12], [3, 11]], [[0, 10], [1, 10], [1, 10]])
    assert [r.mean for r in rows] == pytest.approx([4 / 3, 1.0])
    with pytest.raises(ValueError, match='2 arm values against 3'):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match='at least 2 seeds'):
        paired_difference([1], [2])
    with pytest.raises(ValueError, match='same seeds and scales'):
        paired_differences_per_scale([[1, 2]], [[1]])
