"""apis."""

__all__ = []
