"""Models: generators, tokenizers, backbones, rollout strategies, losses and the
evaluation classifiers.

Importing this package registers every component.
"""
from . import (backbones, classifiers, data_preprocessors, generators, losses, rollouts,
               tokenizers, utils)

__all__ = ['backbones', 'classifiers', 'data_preprocessors', 'generators', 'losses', 'rollouts',
           'tokenizers', 'utils']
