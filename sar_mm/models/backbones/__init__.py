"""backbones."""
from .var_transformer import VARTransformer

__all__ = ['VARTransformer']
