"""Pure helpers of the models: sampling maths, the shared sampling loop, scale schedules."""
from .ar_generation import FLEXVAR_SAMPLED_SCALES, ARGenerationOutput, autoregressive_generate
from .known_tokens import KnownTokens, regenerate_per_scale
from .sampling import (CFG_SCHEDULES, cfg_strength, greedy_from_logits, mix_cfg_logits,
                       sample_from_logits, top_k_top_p_filter)
from .scale_schedule import (CANONICAL_PATCH_NUMS, FixedScaleSchedule, FlexVARRandomScaleSchedule,
                             draw_flexvar_schedule)

__all__ = [
    'FLEXVAR_SAMPLED_SCALES', 'ARGenerationOutput', 'autoregressive_generate', 'KnownTokens',
    'regenerate_per_scale', 'CFG_SCHEDULES',
    'cfg_strength', 'greedy_from_logits', 'mix_cfg_logits', 'sample_from_logits',
    'top_k_top_p_filter', 'CANONICAL_PATCH_NUMS', 'FixedScaleSchedule',
    'FlexVARRandomScaleSchedule', 'draw_flexvar_schedule'
]
