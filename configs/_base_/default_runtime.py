# Runtime shared by every sar_mm training config (MMEngine Runner).
default_scope = 'sar_mm'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # One checkpoint per epoch; resuming restarts at an epoch boundary, where the
    # data order (DefaultSampler seeded by seed + epoch) and, through RNGStateHook,
    # every random stream continue exactly. (``by_epoch=False, interval=N`` adds
    # checkpoints inside epochs; the schedules' MidEpochResumableTrainLoop resumes
    # those at the next batch.) Checkpoints are written to a temporary file and renamed, so a
    # killed run never leaves a truncated one under a checkpoint's name.
    checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=True, max_keep_ckpts=3,
                    save_last=True, backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Python / NumPy / torch RNGs and the rollout and scale-schedule RNGs of every
    # rank go into the checkpoints (MMEngine restores none of them).
    rng_state=dict(type='RNGStateHook'),
    # sar_mm's optim wrappers never apply an update with a non-finite loss or
    # gradient; 'stop' ends the run naming the iteration and the loss terms,
    # 'skip' continues (skipped steps are logged as train/nonfinite_skip).
    nonfinite=dict(type='NonFiniteLossHook', policy='stop'),
    # load_from / resume checkpoints must fit the model (MMEngine loads non-strictly)
    strict_checkpoint=dict(type='StrictCheckpointHook'),
    # a resumed run follows the config's lr schedule (e.g. more epochs, a later end), replayed
    # to the checkpoint's iteration, instead of the schedule stored in the checkpoint
    schedule_from_config=dict(type='ScheduleFromConfigHook'),
    # a LatentDataset's file must come from the model's tokenizer (its recorded digest)
    latent_tokenizer=dict(type='LatentTokenizerHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # ``timeout`` (seconds) bounds every collective op; tools/train.py uses it for
    # the gloo process group of CPU runs as well.
    dist_cfg=dict(backend='nccl', timeout=1800),
)

# CUDA numerics of a training run (sar_mm/engine/train_numerics.py), set once at start-up by
# tools/train.py: all off here (full float32 outside autocast); the ImageNet recipes
# (configs/var, configs/flexvar and the configs/sar built on them) turn on the official
# trainers' TF32 and cuDNN flags. tools/test.py does not read it.
train_numerics = dict(tf32=False, cudnn_benchmark=False, cudnn_deterministic=False)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False

# Seed 0 with per-rank offsets (official ``seed_everything``).
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
