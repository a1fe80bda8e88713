"""Pure helpers of the models: sampling maths and settings, the shared sampling loop,
scale layout, scale schedules."""
from .ar_generation import FLEXVAR_SAMPLED_SCALES, ARGenerationOutput, autoregressive_generate
from .cfg_schedule import CFGSchedule, var_guidance
from .known_tokens import MASK_RULES, KnownTokens, regenerate_per_scale
from .sampling import greedy_from_logits, sample_from_logits, top_k_top_p_filter
from .sampling_config import SamplingConfig, SamplingNumerics, split_test_cfg
from .scale_layout import (CANONICAL_PATCH_NUMS, RolloutOutput, check_schedule, input_slice,
                           num_tokens, scale_slices)
from .scale_schedule import (FixedScaleSchedule, FlexVARRandomScaleSchedule,
                             FlexVARScheduleSettings, draw_flexvar_schedule)

__all__ = [
    'FLEXVAR_SAMPLED_SCALES', 'ARGenerationOutput', 'autoregressive_generate', 'CFGSchedule',
    'var_guidance', 'KnownTokens', 'MASK_RULES', 'regenerate_per_scale', 'greedy_from_logits',
    'sample_from_logits', 'top_k_top_p_filter', 'SamplingConfig', 'SamplingNumerics',
    'split_test_cfg', 'CANONICAL_PATCH_NUMS', 'RolloutOutput', 'check_schedule', 'input_slice',
    'num_tokens', 'scale_slices', 'FixedScaleSchedule', 'FlexVARRandomScaleSchedule',
    'FlexVARScheduleSettings', 'draw_flexvar_schedule'
]
