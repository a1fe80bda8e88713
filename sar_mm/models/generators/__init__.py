"""Generators: the composite model the Runner trains and samples from, and the
tokenizer-training wrapper."""
from .residual_vq_tokenizer_trainer import (ResidualVQTokenizerTrainer,
                                            residual_quantize_straight_through)
from .scale_wise_ar import ScaleWiseAR, to_uint8_images
from .vq_tokenizer_trainer import VQTokenizerTrainer, l2norm_quantize_straight_through

__all__ = ['ScaleWiseAR', 'VQTokenizerTrainer', 'l2norm_quantize_straight_through',
           'ResidualVQTokenizerTrainer', 'residual_quantize_straight_through', 'to_uint8_images']
