# In-training evaluation for ImageNet 256 generators, for monitoring only:
# MMEngine's ValLoop samples ``samples_per_class`` images of each of the 1000
# classes with the model's test_cfg (5 per class = 5k images, each from its own
# seed, so every validation draws the same labels and seeds) and logs FID under
# ``val_fid_key``. No checkpoint is selected by it: the result of a run is its
# last checkpoint, as in the official trainers (docs/evaluation_protocols.md,
# "Which checkpoint is reported"). The reference is NOT the ADM reference
# batch that FID-50k is reported against (tools/test.py): it holds the
# statistics of a fixed subset of the training images, 10 per class, made once
# as docs/evaluation_protocols.md shows:
#   data/fid_stats/imagenet_train_subset_stats.npz
#   checkpoints/weights-inception-2015-12-05-6726825d.pth   (Inception weights)
# (the metric checks both when training starts). FID-5k is biased upwards
# against FID-50k and measured against another reference: read its trend, not
# its value. Training without in-training evaluation (the sample grids below included):
#   --cfg-options val_dataloader=None val_evaluator=None val_cfg=None custom_hooks=[]
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
    reference='data/fid_stats/imagenet_train_subset_stats.npz',
    feature_extractor_weights_path='checkpoints/weights-inception-2015-12-05-6726825d.pth',
)

val_cfg = dict(type='ValLoop')

# The key TorchFidelityMetric logs FID under (prefix 'fidelity').
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
