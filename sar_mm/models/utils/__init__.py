"""Pure helpers of the models: sampling maths and the shared sampling loop."""
from .ar_generation import FLEXVAR_SAMPLED_SCALES, ARGenerationOutput, autoregressive_generate
from .sampling import (CFG_SCHEDULES, cfg_strength, greedy_from_logits, mix_cfg_logits,
                       sample_from_logits, top_k_top_p_filter)

__all__ = [
    'FLEXVAR_SAMPLED_SCALES', 'ARGenerationOutput', 'autoregressive_generate', 'CFG_SCHEDULES',
    'cfg_strength', 'greedy_from_logits', 'mix_cfg_logits', 'sample_from_logits',
    'top_k_top_p_filter'
]
