"""The tokenizer-training model a codebook-health hook works on.

The codebook hooks change or measure a codebook while it is trained; they
apply to ``VQTokenizerTrainer`` only, so the frozen tokenizer inside a
generator (``ScaleWiseAR``) can never be touched by them.
"""
from mmengine.model import is_model_wrapper

from sar_mm.models.generators.vq_tokenizer_trainer import VQTokenizerTrainer

__all__ = ['tokenizer_trainer']


def tokenizer_trainer(runner, hook: str) -> VQTokenizerTrainer:
    """``runner.model`` (unwrapped); raises ``TypeError`` unless it trains a tokenizer."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    if not isinstance(model, VQTokenizerTrainer):
        raise TypeError(f'{hook} works on a tokenizer being trained (VQTokenizerTrainer), got '
                        f'{type(model).__name__}; remove it from this config')
    return model
