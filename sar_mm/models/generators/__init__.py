"""Generators: the composite model the Runner trains and samples from, and the
tokenizer-training wrapper."""
from .scale_wise_ar import ScaleWiseAR, to_uint8_images
from .vq_tokenizer_trainer import VQTokenizerTrainer

__all__ = ['ScaleWiseAR', 'VQTokenizerTrainer', 'to_uint8_images']
