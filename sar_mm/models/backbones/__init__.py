"""backbones."""

__all__ = []
