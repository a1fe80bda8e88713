# The tiny SAR run of tiny_flexvar_sar.py as an iteration-based loop with fp16
# autocast and a dynamic loss scale that changes every 2 steps (on CPU too), and a
# checkpoint every 2 iterations: what the reliability tests kill and resume.
# Every resumable state is exercised: weights, AdamW, lr schedule, loss scale,
# Python / NumPy / torch RNGs, the rollout's and the scale schedule's generators,
# the position in an infinite, shuffled data stream augmented in a worker.
_base_ = ['./tiny_flexvar_sar.py']

train_dataloader = dict(sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=8)
optim_wrapper = dict(type='SkipNonFiniteAmpOptimWrapper', dtype='float16', device_type='cpu',
                     loss_scale=dict(init_scale=2.0**11, growth_interval=2))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
