# SAR post-training of FlexVAR-d20: 32 GPUs x 24 = global batch 768, 10 epochs.
# Differs from flexvar_d16_sar.py: depth 20, eval cfg 2.6, start checkpoint
# (converted FlexVARd20-epo249.pth) and lr 4.23e-5 -> 3.0e-5 (spec 6.1).
_base_ = ['./flexvar_d16_sar.py']

model = dict(backbone=dict(depth=20), test_cfg=dict(cfg=2.6))

load_from = 'checkpoints/flexvar_d20_sarmm.pth'

optim_wrapper = dict(optimizer=dict(lr=4.23e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=3.0e-5 / 4.23e-5, by_epoch=True,
         begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True),
]
