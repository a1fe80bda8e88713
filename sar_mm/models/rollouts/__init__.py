"""Rollout strategies: which tokens feed each scale during training (docs/method.md §1.2)."""
from .base_rollout import BaseRollout
from .hybrid import HybridTFSF
from .interleave import InterleaveTFSF
from .rollout_guidance import SARRolloutGuidance
from .stagger_scale_rollout import StaggerScaleRollout
from .student_forcing import StudentForcing
from .teacher_forcing import TeacherForcing
from .token_selector import TokenSelector

__all__ = ['BaseRollout', 'HybridTFSF', 'InterleaveTFSF', 'SARRolloutGuidance',
           'StaggerScaleRollout', 'StudentForcing', 'TeacherForcing', 'TokenSelector']
