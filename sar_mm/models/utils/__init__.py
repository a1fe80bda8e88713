"""Pure helpers of the models: sampling maths and loop, scale layout, scale schedules."""
from .ar_generation import FLEXVAR_SAMPLED_SCALES, ARGenerationOutput, autoregressive_generate
from .sampling import (CFG_SCHEDULES, cfg_strength, greedy_from_logits, mix_cfg_logits,
                       sample_from_logits, top_k_top_p_filter)
from .scale_layout import (CANONICAL_PATCH_NUMS, RolloutOutput, check_schedule, input_slice,
                           num_tokens, scale_slices)
from .scale_schedule import (FixedScaleSchedule, FlexVARRandomScaleSchedule,
                             FlexVARScheduleSettings, draw_flexvar_schedule)

__all__ = [
    'FLEXVAR_SAMPLED_SCALES', 'ARGenerationOutput', 'autoregressive_generate', 'CFG_SCHEDULES',
    'cfg_strength', 'greedy_from_logits', 'mix_cfg_logits', 'sample_from_logits',
    'top_k_top_p_filter', 'CANONICAL_PATCH_NUMS', 'RolloutOutput', 'check_schedule',
    'input_slice', 'num_tokens', 'scale_slices', 'FixedScaleSchedule',
    'FlexVARRandomScaleSchedule', 'FlexVARScheduleSettings', 'draw_flexvar_schedule'
]
