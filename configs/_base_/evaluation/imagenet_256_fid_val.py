# In-training evaluation for ImageNet 256 generators: MMEngine's ValLoop samples
# ``samples_per_class`` images of each of the 1000 classes with the model's
# test_cfg (5 per class = 5k images, each from its own seed, so every
# validation draws the same labels and seeds) and computes FID against
# precomputed reference statistics. FID-5k is biased upwards against FID-50k:
# use it to compare checkpoints of one run, report FID-50k (tools/test.py).
# The leaf config sets how often it runs and keeps the best checkpoint:
#   train_cfg = dict(val_interval=1)
#   default_hooks = dict(checkpoint=dict(save_best=val_fid_key, rule='less'))
# Files to provide (the metric checks both when training starts):
#   data/fid_stats/adm_in256_stats.npz   reference statistics of the ADM reference
#       batch (or of an ImageNet val folder, ADM centre crop):
#       python tools/analysis_tools/make_fid_ref_stats.py \
#           data/imagenet/VIRTUAL_imagenet256_labeled.npz data/fid_stats/adm_in256_stats.npz \
#           --feature-weights checkpoints/weights-inception-2015-12-05-6726825d.pth
#   checkpoints/weights-inception-2015-12-05-6726825d.pth   (Inception weights)
# Training without in-training evaluation (the sample grids below included):
#   --cfg-options val_dataloader=None val_evaluator=None val_cfg=None
#                 default_hooks.checkpoint.save_best=None custom_hooks=[]
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    # An explicit seed: with ``diff_rank_seed`` the Runner leaves it None and the
    # sampler would draw one from the global NumPy RNG when the val loop is built,
    # shifting the training run's random streams.
    sampler=dict(type='DefaultSampler', shuffle=False, seed=0),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ClassLabelDataset', num_classes=1000, samples_per_class=5, base_seed=0),
)

val_evaluator = dict(
    type='TorchFidelityMetric',
    fid=True,
    isc=False,
    prc=False,
    reference='data/fid_stats/adm_in256_stats.npz',
    feature_extractor_weights_path='checkpoints/weights-inception-2015-12-05-6726825d.pth',
)

val_cfg = dict(type='ValLoop')

# The key TorchFidelityMetric reports FID under (prefix 'fidelity').
val_fid_key = 'fidelity/frechet_inception_distance'

# A grid of fixed labels (golden retriever, otter, red panda, geyser, macaw,
# valley, balloon, arctic fox) and seeds 0..7 every ``interval`` training
# iterations and after training, one row per scale, to the visualizer
# (LocalVisBackend PNGs under <work_dir>/<timestamp>/vis_data/vis_image/,
# TensorBoard).
custom_hooks = [
    dict(
        type='SampleGridHook',
        labels=[207, 360, 387, 974, 88, 979, 417, 279],
        base_seed=0,
        interval=500,
        show_scales=True,
        name='sample_grid'),
]
