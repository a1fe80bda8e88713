"""Optimizer wrappers and constructors."""
from .no_decay_constructor import (OFFICIAL_NO_DECAY_KEYS, NoDecayOptimWrapperConstructor,
                                   split_no_decay)
from .skip_nonfinite_amp_optim_wrapper import SkipNonFiniteAmpOptimWrapper
from .skip_nonfinite_optim_wrapper import SkipNonFiniteOptimWrapper

__all__ = ['NoDecayOptimWrapperConstructor', 'OFFICIAL_NO_DECAY_KEYS', 'split_no_decay',
           'SkipNonFiniteAmpOptimWrapper', 'SkipNonFiniteOptimWrapper']
