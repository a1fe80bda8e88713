"""Engine: optimizer wrappers, lr schedules, hooks, the train loop, the checkpoint to resume
from, batch split, distributed start-up and the training run's CUDA numerics."""
from .atomic_local_backend import AtomicLocalBackend, atomic_write_bytes, atomic_write_file
from .batch_plan import (BatchPlan, apply_batch_plan, launch_line, launch_summary,
                         plan_train_batch)
from .hooks import (LatentTokenizerHook, NonFiniteLossHook, RNGStateHook, ScheduleFromConfigHook,
                    StrictCheckpointHook)
from .loops import MidEpochResumableTrainLoop
from .optim_wrappers import (OFFICIAL_NO_DECAY_KEYS, NoDecayOptimWrapperConstructor,
                             SkipNonFiniteAmpOptimWrapper, SkipNonFiniteOptimWrapper,
                             split_no_decay)
from .resumable_checkpoint import find_resumable_checkpoint
from .runtime import setup_distributed
from .schedulers import Lin0LR, lin0_lr_factor
from .train_numerics import TrainNumerics, setup_train_numerics

__all__ = ['SkipNonFiniteAmpOptimWrapper', 'NoDecayOptimWrapperConstructor',
           'OFFICIAL_NO_DECAY_KEYS', 'split_no_decay', 'RNGStateHook', 'setup_distributed',
           'MidEpochResumableTrainLoop', 'AtomicLocalBackend', 'atomic_write_bytes',
           'atomic_write_file',
           'find_resumable_checkpoint', 'SkipNonFiniteOptimWrapper',
           'NonFiniteLossHook', 'StrictCheckpointHook', 'ScheduleFromConfigHook',
           'LatentTokenizerHook', 'BatchPlan', 'apply_batch_plan', 'launch_line', 'launch_summary',
           'plan_train_batch', 'Lin0LR', 'lin0_lr_factor', 'TrainNumerics',
           'setup_train_numerics']
