"""Paired differences between two arms of an experiment run on the same seeds.

Each seed gives one number for the arm and one for the control, from the same
starting checkpoint, data order and sampling seeds, so their difference cancels
what the seed shares. The interval is Student's t interval of the mean
difference over seeds; the detectable effect is the true difference that a
two-sided paired t-test at the same level would find with the stated power
(the usual normal-approximation formula with t quantiles).

Pure functions on plain numbers; the Student-t quantile is computed here
(numerical integration of the density, then bisection), so no SciPy is needed.
"""
import functools
import math
from dataclasses import asdict, dataclass
from typing import List, Sequence

__all__ = ['student_t_cdf', 'student_t_quantile', 'PairedDifference', 'paired_difference',
           'paired_differences_per_scale']


def student_t_cdf(x: float, df: int) -> float:
    """P(T <= x) for Student's t with ``df`` degrees of freedom (|error| < 1e-10)."""
    if df < 1:
        raise ValueError(f'degrees of freedom must be >= 1, got {df}')
    if x < 0:
        return 1.0 - student_t_cdf(-x, df)
    log_norm = (math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                - 0.5 * math.log(df * math.pi))

    def density(t: float) -> float:
        return math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))

    # substitute t = tan(u) so that the heavy tail of small df stays integrable
    upper = math.atan(x)
    steps = 2000  # Simpson's rule, even
    h = upper / steps
    total = 0.0
    for i in range(steps + 1):
        u = i * h
        weight = 1 if i in (0, steps) else (4 if i % 2 else 2)
        total += weight * density(math.tan(u)) / math.cos(u) ** 2
    return 0.5 + total * h / 3


@functools.lru_cache(maxsize=None)  # pure, and a study asks for the same few many times
def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f'p must be in (0, 1), got {p}')
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        if student_t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@dataclass(frozen=True)
class PairedDifference:
    """Arm minus control over paired seeds.

    Attributes:
        n (int): pairs (seeds).
        mean (float): mean difference.
        std (float): standard deviation of the differences (ddof 1).
        ci_low, ci_high (float): the confidence interval of the mean difference.
        detectable (float): the smallest true |difference| found with the stated
            power by a two-sided paired t-test at the interval's level.
        values (list): the per-seed differences.
    """
    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    detectable: float
    values: List[float]

    @property
    def excludes_zero(self) -> bool:
        """The interval lies on one side of zero."""
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict:
        return dict(asdict(self), excludes_zero=self.excludes_zero)


def paired_difference(arm: Sequence[float], control: Sequence[float],
                      confidence: float = 0.95, power: float = 0.8) -> PairedDifference:
    """Mean of ``arm[i] - control[i]`` with its t interval and detectable effect.

    Args:
        arm, control (sequence of float): one value per seed, in the same seed order.
        confidence (float): the interval's level (0.95: 95 % interval).
        power (float): power for the detectable effect.

    Raises:
        ValueError: different lengths or fewer than 2 pairs.
    """
    if len(arm) != len(control):
        raise ValueError(f'{len(arm)} arm values against {len(control)} control values')
    n = len(arm)
    if n < 2:
        raise ValueError('a paired interval needs at least 2 seeds')
    diffs = [float(a) - float(c) for a, c in zip(arm, control)]
    mean = sum(diffs) / n
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    se = std / math.sqrt(n)
    t_level = student_t_quantile(0.5 + confidence / 2, n - 1)
    t_power = student_t_quantile(power, n - 1)
    return PairedDifference(n=n, mean=mean, std=std, ci_low=mean - t_level * se,
                            ci_high=mean + t_level * se, detectable=(t_level + t_power) * se,
                            values=diffs)


def paired_differences_per_scale(arm: Sequence[Sequence[float]],
                                 control: Sequence[Sequence[float]],
                                 confidence: float = 0.95) -> List[PairedDifference]:
    """:func:`paired_difference` at every scale.

    Args:
        arm, control: (seeds, scales) values, e.g. the exposure-bias gap per scale.
    """
    if len(arm) != len(control) or any(len(a) != len(c) for a, c in zip(arm, control)):
        raise ValueError('arm and control need the same seeds and scales')
    return [paired_difference([row[k] for row in arm], [row[k] for row in control], confidence)
            for k in range(len(arm[0]))]
