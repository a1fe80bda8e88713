"""Rule tables that turn official checkpoints into sar_mm generator checkpoints."""
from .flexvar import (FLEXVAE_RULES, FLEXVAR_RULES, check_flexvar_conversion,
                      convert_flexvar_checkpoints, flexvae_kwargs_from_state_dict,
                      flexvar_kwargs_from_state_dict)
from .var import (VAR_RULES, VQVAE_RULES, check_var_conversion, convert_var_checkpoints,
                  var_kwargs_from_state_dict, vqvae_kwargs_from_state_dict)
from .transformer_rules import TRANSFORMER_RULES

__all__ = [
    'FLEXVAE_RULES', 'FLEXVAR_RULES', 'check_flexvar_conversion', 'convert_flexvar_checkpoints',
    'flexvae_kwargs_from_state_dict', 'flexvar_kwargs_from_state_dict',
    'TRANSFORMER_RULES', 'VAR_RULES', 'VQVAE_RULES', 'check_var_conversion',
    'convert_var_checkpoints', 'var_kwargs_from_state_dict', 'vqvae_kwargs_from_state_dict'
]
