# SAR post-training of the tiny FlexVAR (tools/run_toy.py, stage 4). Same data,
# batch, optimizer, schedule, steps and seeds as flexvar_tiny_shapes_tf.py;
# differs only in the Stagger-Scale Rollout and the Contrastive
# Student-Forcing Loss with the effective official settings (docs/method.md
# §2.2, §7.23): the last transition of the step's random schedule, the
# Markovian student pass, teacher tokens sampled from CFG-guided logits (gamma
# 1.2, ramp 0.6 -> 1.2) with top-p 0.96 and top-k 50 (about 10% of the 512
# codes, as 900 of 8912 officially), sigma 0.01.
_base_ = ['./flexvar_tiny_shapes_tf.py']

model = dict(
    rollout=dict(
        _delete_=True,
        type='StaggerScaleRollout',
        sf_scope='last',
        sf_context='markov',
        token_selection='sample',
        top_k=50,
        top_p=0.96,
        rollout_cfg=1.2,
        target='teacher',
        seed=0),
    loss=dict(_delete_=True, type='ContrastiveStudentForcingLoss', sigma=0.01,
              label_smoothing=0.0),
)
