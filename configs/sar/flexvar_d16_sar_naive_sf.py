# Ablation: SSR with the naive student-forcing loss (docs/method.md §3.4, mode
# tf_then_single_sf). 32 GPUs x 24, 10 epochs.
# Differs from flexvar_d16_sar.py: the student pass is trained towards the
# ground-truth tokens instead of the teacher pass's tokens.
_base_ = ['./flexvar_d16_sar.py']

model = dict(rollout=dict(target='gt'))
