"""Optimizer wrappers and constructors."""
from .amp_optim_wrapper import AmpOptimWrapper
from .no_decay_constructor import (OFFICIAL_NO_DECAY_KEYS, NoDecayOptimWrapperConstructor,
                                   split_no_decay)
from .optim_wrapper import OptimWrapper

__all__ = ['AmpOptimWrapper', 'NoDecayOptimWrapperConstructor', 'OFFICIAL_NO_DECAY_KEYS',
           'split_no_decay', 'OptimWrapper']
