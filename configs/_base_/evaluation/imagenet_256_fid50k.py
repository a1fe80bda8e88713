# Class-conditional FID protocol (docs/method.md §6.2): 50 samples for each of
# the 1000 classes, each drawn from its own seed (base_seed + sample index), so
# the set does not depend on the number of GPUs or the batch size; FID / IS /
# precision-recall against the ADM ImageNet 256 reference batch.
# Files to provide:
#   data/imagenet/VIRTUAL_imagenet256_labeled.npz         (ADM reference batch)
#   checkpoints/weights-inception-2015-12-05-6726825d.pth  (Inception weights)
test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ClassLabelDataset', num_classes=1000, samples_per_class=50, base_seed=0),
)

test_evaluator = dict(
    type='TorchFidelityMetric',
    fid=True,
    isc=True,
    prc=True,
    reference='data/imagenet/VIRTUAL_imagenet256_labeled.npz',
    feature_extractor_weights_path='checkpoints/weights-inception-2015-12-05-6726825d.pth',
)

test_cfg = dict(type='TestLoop')
