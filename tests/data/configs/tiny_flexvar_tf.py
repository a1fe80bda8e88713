# A tiny FlexVAR generator trained with teacher forcing on 16 px synthetic
# shapes, for the tool tests (seconds on a CPU). Not a recipe.
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/tf_pretrain.py',
]

model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 1, 2), num_res_blocks=1,
                   vocab_size=32, embed_dim=4, usage_buffer_size=64),
    backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=32, cvae=4,
                  pos_grid_size=4, mask_cache_size=4),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=(1, 2, 4)),
    test_cfg=dict(patch_nums=(1, 2, 4)),
)

train_dataloader = dict(
    batch_size=4,
    num_workers=1,  # the augmentation runs in a worker, as in real runs
    persistent_workers=False,
    worker_init_fn=dict(type='sar_mm.seed_worker_from_torch'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='SyntheticShapesDataset',
        num_samples=8,
        image_size=16,
        seed=0,
        pipeline=[dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                  dict(type='PackGeneratorInputs')]),
)

max_epochs = 2
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, end_factor=1.0, by_epoch=False, begin=0, end=2),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=False, begin=2, end=4),
]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(max_keep_ckpts=2))
# The distributed tests run on CPUs on purpose (a GPU config, NCCL, would refuse).
env_cfg = dict(dist_cfg=dict(backend='gloo'))
log_processor = dict(window_size=1)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
