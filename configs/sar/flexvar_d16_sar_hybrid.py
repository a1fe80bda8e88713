# Ablation: hybrid TF & SF (docs/method.md §1.2). 32 GPUs x 24, 10 epochs.
# Differs from flexvar_d16_sar.py: scales <= 8 teacher-forced in one pass, the
# finer scales student-forced in a chain seeded by the teacher prediction at
# the last teacher-forced scale (Markovian passes, sampled tokens); CE vs
# ground truth. Uses the random FlexVAR schedule (the ScaleAR reference fixed
# 4,5,6,8,10,13,16).
_base_ = ['./flexvar_d16_sar.py']

model = dict(
    rollout=dict(_delete_=True, type='HybridTFSF', tf_max_scale=8, context='markov',
                 token_selection='sample', top_k=900, top_p=0.96, seed=0),
    loss=dict(_delete_=True, type='ScaleCrossEntropyLoss', label_smoothing=0.0),
)
