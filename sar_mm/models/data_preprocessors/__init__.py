"""Data preprocessors."""
from .generator_data_preprocessor import (GeneratorDataPreprocessor, collate_data_samples,
                                          to_symmetric_range)

__all__ = ['GeneratorDataPreprocessor', 'collate_data_samples', 'to_symmetric_range']
