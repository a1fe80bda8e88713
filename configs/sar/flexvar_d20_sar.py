# SAR post-training of FlexVAR-d20 as the public script train_SAR_d20.sh runs it:
# global batch 768, 11 epochs from the released FlexVARd20-epo249 (converted).
# Differs from flexvar_d16_sar.py: depth 20, eval cfg 2.6, start checkpoint and
# the lin0 tail of a 260-epoch horizon: lr 4.227e-5 -> 3.0e-5.
_base_ = ['./flexvar_d16_sar.py']

model = dict(backbone=dict(depth=20), test_cfg=dict(cfg=2.6))

load_from = 'checkpoints/flexvar_d20_sarmm.pth'

param_scheduler = [
    dict(type='Lin0LR', total_epochs=260, start_epoch=249, final_ratio=0.1, by_epoch=True,
         begin=0, end={{_base_.max_epochs}}, convert_to_iter_based=True),
]
