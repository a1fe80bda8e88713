"""Hooks."""
from .codebook_init_hook import CodebookInitHook
from .codebook_usage_hook import CodebookUsageHook
from .dead_code_restart_hook import DeadCodeRestartHook
from .held_out_reconstruction_hook import HeldOutReconstructionHook
from .latent_tokenizer_hook import LatentTokenizerHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .rng_state_hook import RNGStateHook
from .sample_grid_hook import SampleGridHook
from .schedule_from_config_hook import ScheduleFromConfigHook
from .strict_checkpoint_hook import StrictCheckpointHook

__all__ = ['RNGStateHook', 'SampleGridHook', 'NonFiniteLossHook', 'StrictCheckpointHook',
           'ScheduleFromConfigHook', 'LatentTokenizerHook', 'CodebookUsageHook', 'CodebookInitHook',
           'DeadCodeRestartHook', 'HeldOutReconstructionHook']
