"""Generators: the composite model the Runner trains and samples from."""
from .scale_wise_ar import DEFAULT_TEST_CFG, ScaleWiseAR, to_uint8_images

__all__ = ['DEFAULT_TEST_CFG', 'ScaleWiseAR', 'to_uint8_images']
