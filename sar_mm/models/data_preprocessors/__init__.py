"""data_preprocessors."""

__all__ = []
