"""Models: generators, tokenizers, backbones, rollout strategies and losses.

Importing this package registers every component.
"""
from . import backbones, data_preprocessors, generators, losses, rollouts, tokenizers, utils

__all__ = ['backbones', 'data_preprocessors', 'generators', 'losses', 'rollouts', 'tokenizers',
           'utils']
