# From-scratch teacher-forcing pretraining, toy scale (VAR / FlexVAR ``lin0``
# shape): warmup from 0.005x over the first epoch, then a linear decay to 0.1x
# of the peak. AdamW betas (0.9, 0.95), weight decay 0.05,
# gradient clip 2.0, as in the official recipes.
max_epochs = 50

optim_wrapper = dict(
    type='SkipNonFiniteOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=2.0),
    constructor='NoDecayOptimWrapperConstructor',
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.005, end_factor=1.0, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)

auto_scale_lr = dict(enable=False, base_batch_size=256)
