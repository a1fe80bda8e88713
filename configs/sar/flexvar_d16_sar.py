# SAR post-training of FlexVAR-d16 as the public script train_SAR_d16.sh runs it:
# global batch 768, 11 epochs from the released FlexVARd16-epo179 (converted),
# AdamW on the official lin0 tail 4.679e-5 -> 3.0e-5, clip 2.0, 512 px crops.
# The paper's 10-epoch run is flexvar_d16_sar_paper.py.
# Differs from flexvar_d16_tf.py: the Stagger-Scale Rollout with the effective
# official settings (only the last transition of the step's schedule, Markovian
# student pass, teacher tokens sampled with top-k 900 / top-p 0.96 from
# CFG-guided logits, gamma 1.2 ramped 0.6 -> 1.2) and the Contrastive
# Student-Forcing Loss with sigma 0.01. For the script-intended arg-max rollout
# use token_selection='argmax', rollout_cfg=0.0.
_base_ = ['./flexvar_d16_tf.py']

model = dict(
    rollout=dict(
        _delete_=True,
        type='StaggerScaleRollout',
        sf_scope='last',
        sf_context='markov',
        token_selection='sample',
        top_k=900,
        top_p=0.96,
        rollout_cfg=1.2,
        target='teacher',
        seed=0),
    loss=dict(_delete_=True, type='ContrastiveStudentForcingLoss', sigma=0.01,
              label_smoothing=0.0),
)
