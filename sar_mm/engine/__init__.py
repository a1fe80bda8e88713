"""engine."""

__all__ = []
