"""tokenizers."""

__all__ = []
