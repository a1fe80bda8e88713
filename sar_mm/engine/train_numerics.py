"""CUDA numerics of a training run (TF32, cuDNN), set once at start-up as the official trainers do.

The trainers of VAR, FlexVAR and SAR set these flags for the whole run in
``utils/arg_util.py`` (``init_dist_and_get_args`` calls ``Args.set_tf32(args.tf32)``
and then ``Args.seed_everything(benchmark=args.pg == 0)``):

- ``tf32=True`` (the default of ``Args.tf32``; no script changes it): when CUDA is
  available, ``torch.backends.cudnn.allow_tf32``,
  ``torch.backends.cuda.matmul.allow_tf32`` and
  ``torch.set_float32_matmul_precision('high')``;
- ``torch.backends.cudnn.benchmark = (pg == 0)``: on, since no released script
  uses progressive training (``--pg``);
- ``torch.backends.cudnn.deterministic``: on when ``Args.seed`` is set, which
  is the default of FlexVAR and SAR (``seed=0``); off in VAR (``seed=None``).

With TF32 on, the float32 work outside autocast (the frozen tokenizer's encoder
and the codebook distances whose argmin gives the ground-truth tokens) runs with
TF32 matrix products on Ampere and newer GPUs, as in the official runs.

A config holds these as the top-level ``train_numerics`` dict (keys of
:class:`TrainNumerics`); ``tools/train.py`` applies it with
:func:`setup_train_numerics` before the Runner is built. Sampling keeps its own
TF32 setting for the duration of each ``generate`` call (``test_cfg.tf32``), and
``tools/test.py`` does not read ``train_numerics``.
"""
from dataclasses import dataclass, fields

import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log

__all__ = ['TrainNumerics', 'setup_train_numerics']


def _on_off(flag: bool) -> str:
    return 'on' if flag else 'off'


@dataclass(frozen=True)
class TrainNumerics:
    """The process-wide CUDA flags of a training run (the config's ``train_numerics``).

    Args:
        tf32 (bool): TF32 for cuDNN convolutions and CUDA float32 matrix
            products (``float32_matmul_precision`` ``'high'``); ``False`` turns
            both off (``'highest'``: full float32).
        cudnn_benchmark (bool): ``torch.backends.cudnn.benchmark``.
        cudnn_deterministic (bool): ``torch.backends.cudnn.deterministic``:
            deterministic cuDNN algorithms only. Unlike MMEngine's
            ``randomness.deterministic`` it neither turns the benchmark off nor
            calls ``torch.use_deterministic_algorithms``, as in the official trainers.
    """

    tf32: bool = False
    cudnn_benchmark: bool = False
    cudnn_deterministic: bool = False

    def __post_init__(self) -> None:
        for key in ('tf32', 'cudnn_benchmark', 'cudnn_deterministic'):
            if not isinstance(getattr(self, key), bool):
                raise ValueError(f'train_numerics.{key} must be True or False, got '
                                 f'{getattr(self, key)!r}')

    def apply(self) -> str:
        """Set the flags in this process when CUDA is available; return what was set.

        Without CUDA nothing is set (the flags concern CUDA kernels only; the
        official ``set_tf32`` also does nothing then).
        """
        if not torch.cuda.is_available():
            return ('train numerics: no CUDA, TF32 and cuDNN flags left as they are '
                    f'(train_numerics: {self})')
        torch.backends.cudnn.allow_tf32 = self.tf32
        torch.backends.cuda.matmul.allow_tf32 = self.tf32
        torch.set_float32_matmul_precision('high' if self.tf32 else 'highest')
        torch.backends.cudnn.benchmark = self.cudnn_benchmark
        torch.backends.cudnn.deterministic = self.cudnn_deterministic
        return (f'train numerics: TF32 {_on_off(self.tf32)} (cuDNN convolutions and CUDA '
                f"matmuls, float32_matmul_precision '{torch.get_float32_matmul_precision()}'), "
                f'cuDNN benchmark {_on_off(self.cudnn_benchmark)}, cuDNN deterministic '
                f'{_on_off(self.cudnn_deterministic)}')


def setup_train_numerics(cfg) -> TrainNumerics:
    """Apply the config's ``train_numerics`` in this process; rank 0 logs it once.

    Call once at start-up, before the Runner is built.

    Args:
        cfg (Config | dict): the training config; a missing ``train_numerics``
            means every flag off.

    Returns:
        TrainNumerics: the settings applied.

    Raises:
        KeyError: an unknown key in ``train_numerics``.
        ValueError: a value that is not a bool.
    """
    settings = dict(cfg.get('train_numerics') or {})
    keys = [field.name for field in fields(TrainNumerics)]
    unknown = sorted(set(settings) - set(keys))
    if unknown:
        raise KeyError(f'unknown train_numerics keys {unknown}; expected {keys}')
    numerics = TrainNumerics(**settings)
    message = numerics.apply()
    if get_dist_info()[0] == 0:
        print_log(message, logger='current')
    return numerics
