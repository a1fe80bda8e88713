"""generators."""

__all__ = []
