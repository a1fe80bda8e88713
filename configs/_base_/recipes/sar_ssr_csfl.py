# SAR's post-training recipe (paper Sec. 3; docs/method.md §2) with the
# settings the official code effectively runs (docs/method.md §2.2, §7.23):
# the Stagger-Scale Rollout over the last transition of the step's schedule,
# a Markovian student pass, teacher tokens sampled with top-k 900 / top-p 0.96
# from CFG-guided logits (gamma 1.2, ramped 0.6 -> 1.2), and the Contrastive
# Student-Forcing Loss with sigma 0.01.
# A SAR config inherits a teacher-forcing config and this file, and swaps the
# two parts in:
#   model = dict(rollout=dict(_base_.sar_rollout, _delete_=True),
#                loss=dict(_base_.sar_loss, _delete_=True))
# For the script-intended arg-max rollout use token_selection='argmax',
# rollout_cfg=0.0.
sar_rollout = dict(
    type='StaggerScaleRollout',
    sf_scope='last',
    sf_context='markov',
    token_selection='sample',
    top_k=900,
    top_p=0.96,
    rollout_cfg=1.2,
    target='teacher',
    seed=0)
sar_loss = dict(type='ContrastiveStudentForcingLoss', sigma=0.01, label_smoothing=0.0)
