# SAR post-training of FlexVAR-d24: 32 GPUs x 24 = global batch 768, 10 epochs.
# Differs from flexvar_d16_sar.py: depth 24, eval cfg 3.3, start checkpoint
# (converted FlexVARd24-epo349.pth) and lr 1.02e-5 -> 2.4e-6 (spec 6.1).
_base_ = ['./flexvar_d16_sar.py']

model = dict(backbone=dict(depth=24), test_cfg=dict(cfg=3.3))

load_from = 'checkpoints/flexvar_d24_sarmm.pth'

optim_wrapper = dict(optimizer=dict(lr=1.02e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=2.4e-6 / 1.02e-5, by_epoch=True,
         begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True),
]
