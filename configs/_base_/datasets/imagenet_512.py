# ImageNet-1k train at 512 px: the official FlexVAR / SAR default
# (``final_reso=512``, docs/method.md §4.2 and §7.29). The VQ-16 latent is
# 32 x 32 and is area-pooled to the scales of the schedule (at most 16).
_base_ = ['./imagenet_256.py']

image_size = 512

train_pipeline = [
    dict(type='LoadRGBImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ADMRandomCrop', size=image_size, min_crop_frac=0.88, max_crop_frac=1.0),
    dict(type='PackGeneratorInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
