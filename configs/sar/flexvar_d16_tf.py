# Teacher-forcing continuation of FlexVAR-d16: the control run for SAR.
# Global batch 768 (24 per GPU on 32 GPUs, 96 on 8), 11 epochs as the public
# scripts run them, 512 px crops (official default).
# Same data, optimizer and schedule as flexvar_d16_sar.py; only the rollout and
# loss differ (teacher forcing + ScaleCrossEntropyLoss, from the model config).
# Differs from ../flexvar/flexvar_d16.py: ImageNet 512 training data, the SAR
# schedule (AdamW 0.9/0.95, wd 0.05 without decay on 1-D/bias/positions/
# scale_mul, clip 2.0, the official lin0 tail 4.679e-5 -> 3.0e-5) and the start checkpoint:
#   python tools/model_converters/flexvar_to_sarmm.py FlexVARd16-epo179.pth \
#       FlexVAE.pth checkpoints/flexvar_d16_sarmm.pth
# In-training evaluation, for monitoring: FID-5k after every epoch against a
# training-subset reference and a sample grid every 500 iterations
# (../_base_/evaluation/imagenet_256_fid_val.py). No checkpoint is selected:
# the last one is the result, as in the official trainer.
_base_ = [
    '../flexvar/flexvar_d16.py',
    '../_base_/datasets/imagenet_512.py',
    '../_base_/schedules/sar_lin0_tail.py',
    '../_base_/evaluation/imagenet_256_fid_val.py',
]

load_from = 'checkpoints/flexvar_d16_sarmm.pth'

train_cfg = dict(val_interval=1)
