# SAR post-training of FlexVAR-d16 as the public script train_SAR_d16.sh runs it:
# global batch 768, 11 epochs from the released FlexVARd16-epo179 (converted),
# AdamW on the official lin0 tail 4.679e-5 -> 3.0e-5, clip 2.0, 512 px crops.
# The paper's 10-epoch run is flexvar_d16_sar_paper.py.
# Differs from flexvar_d16_tf.py: SAR's Stagger-Scale Rollout and Contrastive
# Student-Forcing Loss, with the settings of ../_base_/recipes/sar_ssr_csfl.py.
_base_ = ['./flexvar_d16_tf.py', '../_base_/recipes/sar_ssr_csfl.py']

model = dict(rollout=dict(_base_.sar_rollout, _delete_=True),
             loss=dict(_base_.sar_loss, _delete_=True))
