# SAR post-training of FlexVAR-d24 as the public script train_SAR_d24.sh runs it:
# global batch 768, 11 epochs from the released FlexVARd24-epo349 (converted).
# Differs from flexvar_d16_sar.py: depth 24, eval cfg 3.3, start checkpoint and
# the lin0 tail of a 360-epoch horizon with peak tblr 8e-5 x 768 / 256 = 2.4e-4
# and final ratio 0.01: lr 1.02e-5 -> 2.4e-6.
_base_ = ['./flexvar_d16_sar.py']

model = dict(backbone=dict(depth=24), test_cfg=dict(cfg=3.3))

load_from = 'checkpoints/flexvar_d24_sarmm.pth'

optim_wrapper = dict(optimizer=dict(lr=2.4e-4))
param_scheduler = [
    dict(type='Lin0LR', total_epochs=360, start_epoch=349, final_ratio=0.01, by_epoch=True,
         begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True),
]
