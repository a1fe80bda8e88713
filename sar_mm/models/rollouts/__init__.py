"""rollouts."""

__all__ = []
