"""Engine: optimizer wrappers, lr schedules, hooks, checkpoint loading, batch split and
distributed start-up."""
from .atomic_local_backend import AtomicLocalBackend, atomic_write_bytes
from .batch_plan import (BatchPlan, apply_batch_plan, launch_line, launch_summary,
                         plan_train_batch)
from .checkpoint_io import (find_resumable_checkpoint, is_trusted_checkpoint,
                            load_local_checkpoint, register_checkpoint_loader,
                            trust_checkpoint_path, trusted_checkpoint_paths)
from .hooks import NonFiniteLossHook, RNGStateHook, StrictCheckpointHook
from .loops import MidEpochResumableTrainLoop
from .optim_wrappers import (OFFICIAL_NO_DECAY_KEYS, NoDecayOptimWrapperConstructor,
                             SkipNonFiniteAmpOptimWrapper, SkipNonFiniteOptimWrapper,
                             split_no_decay)
from .runtime import setup_distributed
from .schedulers import Lin0LR, lin0_lr_factor

__all__ = ['SkipNonFiniteAmpOptimWrapper', 'NoDecayOptimWrapperConstructor',
           'OFFICIAL_NO_DECAY_KEYS', 'split_no_decay', 'RNGStateHook', 'is_trusted_checkpoint', 'load_local_checkpoint',
           'register_checkpoint_loader', 'trust_checkpoint_path', 'trusted_checkpoint_paths',
           'setup_distributed', 'MidEpochResumableTrainLoop', 'AtomicLocalBackend',
           'atomic_write_bytes', 'find_resumable_checkpoint', 'SkipNonFiniteOptimWrapper',
           'NonFiniteLossHook', 'StrictCheckpointHook', 'BatchPlan', 'apply_batch_plan',
           'launch_line', 'launch_summary', 'plan_train_batch', 'Lin0LR', 'lin0_lr_factor']
