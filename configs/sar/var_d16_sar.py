# SAR post-training of VAR-d16: global batch 768, 11 epochs,
# 256 px crops (VAR's tokenizer serves a 16 x 16 latent), fixed 10-scale
# schedule. No official VAR recipe exists: rollout, loss and optimizer mirror
# flexvar_d16_sar.py (its lin0 tail, lr 4.679e-5 -> 3.0e-5). For VAR the student input of the
# last scale is the residual analogue: area(f_hat of scales < K with the
# teacher's tokens at scale K-1).
# Differs from ../var/var_d16.py: ImageNet 256 training data, the SAR schedule,
# SAR's recipe (../_base_/recipes/sar_ssr_csfl.py), start checkpoint, and
# in-training evaluation for monitoring (FID-5k every epoch against a
# training-subset reference, a sample grid every 500 iterations; the last
# checkpoint is the result).
_base_ = [
    '../var/var_d16.py',
    '../_base_/datasets/imagenet_256.py',
    '../_base_/schedules/sar_lin0_tail.py',
    '../_base_/evaluation/imagenet_256_fid_val.py',
    '../_base_/recipes/sar_ssr_csfl.py',
]

model = dict(rollout=dict(_base_.sar_rollout, _delete_=True),
             loss=dict(_base_.sar_loss, _delete_=True))

load_from = 'checkpoints/var_d16_sarmm.pth'

train_cfg = dict(val_interval=1)
