# Synthetic 10-class toy data (32 px), rendered on the fly from (seed, index):
# no files, identical in every process. For CPU smoke runs and toy training.
dataset_type = 'SyntheticShapesDataset'
image_size = 32

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackGeneratorInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    # Workers are re-created each epoch and seeded from the main process's torch RNG,
    # which RNGStateHook restores: a resumed epoch augments like the uninterrupted one.
    # (Runner.build_dataloader looks the function up in the root registry, hence the
    # scope prefix.)
    persistent_workers=False,
    worker_init_fn=dict(type='sar_mm.seed_worker_from_torch'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        num_samples=10000,
        image_size=image_size,
        seed=0,
        pipeline=train_pipeline),
)
