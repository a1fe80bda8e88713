# SAR post-training of FlexVAR-d16 (spec sections 2-3, 6.1): 32 GPUs x 24 =
# global batch 768, 10 epochs from the converted FlexVAR-d16 checkpoint, AdamW
# lr 4.68e-5 -> 3.0e-5 (linear), clip 2.0, 512 px crops.
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
