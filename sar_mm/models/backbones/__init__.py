"""backbones."""
from .flexvar_transformer import FlexVARTransformer
from .var_transformer import VARTransformer

__all__ = ['FlexVARTransformer', 'VARTransformer']
