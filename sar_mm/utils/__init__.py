"""Utilities that are not models: checkpoint conversion, runtime set-up."""
from .state_dict_conversion import (ConversionError, check_state_dict_matches, convert_state_dict,
                                    state_dict_problems)

__all__ = [
    'ConversionError', 'check_state_dict_matches', 'convert_state_dict', 'state_dict_problems'
]
