# Classifier of the 32 px synthetic shapes that stands in for Inception in the
# toy FID (sar_mm.evaluation.shapes_feature_extractor): its 64-d penultimate
# features give the FID, its logits the class accuracy of generated samples.
# Trained on data seed 1 (the generators train on seed 0; the FID reference
# uses seed 2). 2 epochs x 50 iterations of 128 images, AdamW 3e-3, linear
# decay, autocast as the precision policy chooses (bf16 only on CPUs with
# native bf16, else fp32).
_base_ = [
    '../_base_/datasets/synthetic_shapes_32.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ShapesClassifier',
    num_classes=10,
    widths=(32, 64, 96, 128),
    feature_dim=64,
    data_preprocessor=dict(type='GeneratorDataPreprocessor'))

train_dataloader = dict(batch_size=128, num_workers=1, dataset=dict(num_samples=6400, seed=1))

max_epochs = 2
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='SkipNonFiniteAmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-3, betas=(0.9, 0.99), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
log_processor = dict(window_size=10)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
