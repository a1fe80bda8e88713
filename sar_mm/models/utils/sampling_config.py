"""The settings of class-conditional sampling, parsed and checked once from ``model.test_cfg``.

Configs write ``test_cfg=dict(...)``; code passes two frozen objects built from it:

* :class:`SamplingConfig`: **what** is drawn, the arguments of the official
  ``autoregressive_infer_cfg`` (schedule, guidance, sampler; docs/method.md
  §5). It is the recipe
  :func:`~sar_mm.models.utils.ar_generation.autoregressive_generate` reads.
* :class:`SamplingNumerics`: **how** ``ScaleWiseAR.generate`` runs it:
  autocast precision, TF32, batching and the dtype of the logits through
  guidance and the sampler (docs/evaluation_protocols.md). These change
  rounding and throughput, never the recipe.

Every key of ``test_cfg`` belongs to exactly one of the two; any other key is
refused, and every value is checked when the object is built.
"""
import dataclasses
import math
import operator
from dataclasses import dataclass, fields
from numbers import Real
from typing import ClassVar, Iterable, Optional, Sequence, Tuple, Union

from sar_mm.utils.precision import parse_precision
from .cfg_schedule import CFGSchedule
from .scale_layout import CANONICAL_PATCH_NUMS, check_schedule

__all__ = ['SamplingConfig', 'SamplingNumerics', 'split_test_cfg']


def _as_int(value) -> Optional[int]:
    """``value`` as an int if it is an integer (not a bool), else ``None``."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _positive_ints(key: str, value) -> Tuple[int, ...]:
    ints = (None if isinstance(value, (str, bytes)) or not isinstance(value, Iterable)
            else [_as_int(v) for v in value])
    if not ints or not all(v is not None and v > 0 for v in ints):
        raise ValueError(f'test_cfg.{key} must be a non-empty sequence of positive ints, '
                         f'got {value!r}')
    return tuple(ints)


def _set(obj, key: str, value) -> None:
    object.__setattr__(obj, key, value)  # normalising a frozen dataclass in __post_init__


class _TestCfgPart:
    """``from_test_cfg`` and ``replace`` of the two frozen parts of ``test_cfg``."""

    #: index of this part in :func:`split_test_cfg`'s ``(recipe, numerics)``
    _part: ClassVar[int]

    @classmethod
    def from_test_cfg(cls, test_cfg: Optional[dict] = None, **overrides):
        """This part's keys of ``test_cfg`` updated with ``overrides`` (defaults for the
        rest); the other part's keys are left to it, any other key raises."""
        return cls(**split_test_cfg(dict(test_cfg or {}, **overrides))[cls._part])

    def replace(self, **overrides):
        """A copy with ``overrides`` (keys of this class; ``None`` is a value, e.g. ``max_pn``)."""
        _check_keys(overrides, _keys(type(self)), type(self).__name__)
        return dataclasses.replace(self, **overrides)


@dataclass(frozen=True)
class SamplingConfig(_TestCfgPart):
    """What a sampling run draws (the ``test_cfg`` keys of the recipe; docs/method.md §5).

    Defaults are VAR's FID recipe. Build it with :meth:`from_test_cfg`; derive
    per-call variants with :meth:`replace`.

    Args:
        patch_nums (sequence of int): the scale schedule to generate: positive,
            starting at 1, strictly increasing (``1 1 2`` and ``1 4 2`` are refused).
        cfg (float): guidance scale, ``>= 0``.
        cfg_schedule (str): the guidance ramp, one of :attr:`CFGSchedule.NAMES`
            (see :class:`~sar_mm.models.utils.cfg_schedule.CFGSchedule`).
        top_k (int): top-k of the sampler, ``0`` disables.
        top_p (float): nucleus mass in ``[0, 1]``, ``0`` disables.
        max_pn (int, optional): scales with ``pn > max_pn`` are drawn with
            ``top_k=1`` (and get the full ``cfg`` with ``'flexvar'``).
        sampled_scales (sequence of int, optional): the scales drawn with
            ``top_k`` / ``top_p``; every other scale is drawn with ``top_k=1``
            (FlexVAR: :data:`~sar_mm.models.utils.ar_generation.FLEXVAR_SAMPLED_SCALES`);
            ``None`` samples every scale alike.
        greedy (bool): take the arg-max on every scale (no randomness used).
    """

    _part = 0

    patch_nums: Tuple[int, ...] = CANONICAL_PATCH_NUMS
    cfg: float = 1.5
    cfg_schedule: str = 'var'
    top_k: int = 900
    top_p: float = 0.96
    max_pn: Optional[int] = None
    sampled_scales: Optional[Tuple[int, ...]] = None
    greedy: bool = False

    def __post_init__(self) -> None:
        _set(self, 'patch_nums', _positive_ints('patch_nums', self.patch_nums))
        check_schedule(self.patch_nums)
        if not (_is_real(self.cfg) and math.isfinite(self.cfg) and self.cfg >= 0):
            raise ValueError(f'test_cfg.cfg must be a finite number >= 0, got {self.cfg!r}')
        _set(self, 'cfg', float(self.cfg))
        top_k = _as_int(self.top_k)
        if top_k is None or top_k < 0:
            raise ValueError(f'test_cfg.top_k must be an int >= 0 (0 disables), got '
                             f'{self.top_k!r}')
        _set(self, 'top_k', top_k)
        if not (_is_real(self.top_p) and 0 <= self.top_p <= 1):
            raise ValueError(f'test_cfg.top_p must be a number in [0, 1] (0 disables), got '
                             f'{self.top_p!r}')
        _set(self, 'top_p', float(self.top_p))
        if self.max_pn is not None:
            max_pn = _as_int(self.max_pn)
            if max_pn is None or max_pn <= 0:
                raise ValueError(f'test_cfg.max_pn must be a positive int or None, got '
                                 f'{self.max_pn!r}')
            _set(self, 'max_pn', max_pn)
        if self.sampled_scales is not None:
            _set(self, 'sampled_scales', _positive_ints('sampled_scales', self.sampled_scales))
        if not isinstance(self.greedy, bool):
            raise ValueError(f'test_cfg.greedy must be True or False, got {self.greedy!r}')
        CFGSchedule(self.cfg_schedule, self.cfg, self.max_pn)  # checks the name now

    @property
    def guidance(self) -> CFGSchedule:
        """The guidance ramp and mixing of these settings."""
        return CFGSchedule(self.cfg_schedule, self.cfg, self.max_pn)



@dataclass(frozen=True)
class SamplingNumerics(_TestCfgPart):
    """How ``ScaleWiseAR.generate`` runs a sampling recipe (docs/evaluation_protocols.md).

    Args:
        precision (str): ``'fp32'`` (exact per-seed results), ``'auto'`` or a
            dtype name for autocast, see
            :func:`~sar_mm.utils.precision.resolve_precision`.
        tf32 (bool): CUDA TF32 matmuls and convolutions while sampling.
        batch_invariant (bool | str): run every sample through the transformer
            on its own (``True``), the batch at once (``False``), or ``'auto'``:
            batched on CUDA only (:meth:`batch_invariant_on`).
        float32_logits (bool): cast each scale's logits to float32 before
            guidance and the top-k / top-p filter (``True``). ``False`` keeps
            the dtype the head returns (the autocast dtype under autocast for
            FlexVAR; always float32 for VAR, whose head casts) through guidance
            and the filter, as the official samplers do under fp16 autocast. The
            top-p mass and the probabilities of the draw are float32 either way
            (:func:`~sar_mm.models.utils.sampling.sample_from_logits`).
    """

    _part = 1

    precision: str = 'fp32'
    tf32: bool = False
    batch_invariant: Union[bool, str] = True
    float32_logits: bool = True

    def __post_init__(self) -> None:
        parse_precision(self.precision)
        if not isinstance(self.tf32, bool):
            raise ValueError(f'test_cfg.tf32 must be True or False, got {self.tf32!r}')
        if not isinstance(self.float32_logits, bool):
            raise ValueError('test_cfg.float32_logits must be True or False, got '
                             f'{self.float32_logits!r}')
        if not (isinstance(self.batch_invariant, bool) or self.batch_invariant == 'auto'):
            raise ValueError("test_cfg.batch_invariant must be True, False or 'auto', got "
                             f'{self.batch_invariant!r}')


    def batch_invariant_on(self, device_type: str) -> bool:
        """``batch_invariant`` on ``device_type``: ``'auto'`` is False on CUDA only."""
        if self.batch_invariant == 'auto':
            return device_type != 'cuda'
        return self.batch_invariant


def _keys(cls) -> Tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _check_keys(settings: dict, allowed: Sequence[str], what: str) -> None:
    unknown = set(settings) - set(allowed)
    if unknown:
        raise KeyError(f'unknown {what} keys {sorted(unknown)}; expected {sorted(allowed)}')


def split_test_cfg(settings: dict) -> Tuple[dict, dict]:
    """``test_cfg`` keys (or per-call overrides of them) split by the object they belong to.

    Returns:
        tuple[dict, dict]: the :class:`SamplingConfig` keys and the
        :class:`SamplingNumerics` keys.

    Raises:
        KeyError: naming every key that belongs to neither.
    """
    recipe, numerics = _keys(SamplingConfig), _keys(SamplingNumerics)
    _check_keys(settings, recipe + numerics, 'test_cfg')
    return ({k: v for k, v in settings.items() if k in recipe},
            {k: v for k, v in settings.items() if k in numerics})
