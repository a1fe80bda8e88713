"""Parameter schedulers of the official trainers."""
from .lin0_lr import Lin0LR, lin0_lr_factor

__all__ = ['Lin0LR', 'lin0_lr_factor']
