"""sar_mm: scale-wise autoregressive generation and SAR post-training on MMEngine."""
__version__ = '0.1.0'

__all__ = ['__version__']
