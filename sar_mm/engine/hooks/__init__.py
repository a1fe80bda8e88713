"""hooks."""

__all__ = []
