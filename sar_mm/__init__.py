"""sar_mm: scale-wise autoregressive generation and SAR post-training on MMEngine."""
from .version import __version__, check_mmcv

check_mmcv()

__all__ = ['__version__']
