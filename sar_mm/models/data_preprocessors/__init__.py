"""Data preprocessors."""
from .generator_data_preprocessor import (GeneratorDataPreprocessor, build_data_preprocessor,
                                          collate_data_samples, to_symmetric_range)

__all__ = [
    'GeneratorDataPreprocessor', 'build_data_preprocessor', 'collate_data_samples',
    'to_symmetric_range'
]
