# ImageNet-1k train at 256 px in the official list-file layout:
#   data/imagenet/train.txt   lines "n01440764/n01440764_10026.JPEG 0"
#   data/imagenet/train/...   the images (paths relative to ``data_prefix``)
# For the class-folder layout set ``ann_file=''``; labels are then the sorted
# folder names' indices.
# Augmentation (docs/method.md §4.2): horizontal flip, then ADM
# ``random_crop_arr`` with crop fraction 0.88-1.0. Images stay uint8; the
# generator's data preprocessor maps them to [-1, 1].
dataset_type = 'ImageNetDataset'
data_root = 'data/imagenet'
image_size = 256

train_pipeline = [
    dict(type='LoadRGBImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ADMRandomCrop', size=image_size, min_crop_frac=0.88, max_crop_frac=1.0),
    dict(type='PackGeneratorInputs'),
]

train_dataloader = dict(
    # Samples per optimizer update over all GPUs (the official --bs): each GPU
    # loads global_batch_size / (world size x accumulative_counts), e.g. 24 on
    # 32 GPUs and 96 on 8 (tools/train.py --dry-run --world-size N shows it).
    global_batch_size=768,
    num_workers=8,
    # Workers are re-created each epoch and seeded from the main process's torch RNG,
    # which RNGStateHook restores: a resumed epoch augments like the uninterrupted one.
    # (Runner.build_dataloader looks the function up in the root registry, hence the
    # scope prefix.)
    persistent_workers=False,
    worker_init_fn=dict(type='sar_mm.seed_worker_from_torch'),
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        data_prefix=dict(img_path='train'),
        skip_corrupt=False,
        pipeline=train_pipeline),
)
