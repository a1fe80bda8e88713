# Ablation: interleaved TF & SF (docs/method.md §1.2). 32 GPUs x 24, 10 epochs.
# Differs from flexvar_d16_sar.py: two block-causal passes; even scales keep
# the teacher-forced logits, odd scales are predicted from the sampled teacher
# tokens of the previous scale; CE vs ground truth on every scale.
_base_ = ['./flexvar_d16_sar.py']

model = dict(
    rollout=dict(_delete_=True, type='InterleaveTFSF', token_selection='sample', top_k=900,
                 top_p=0.96, seed=0),
    loss=dict(_delete_=True, type='ScaleCrossEntropyLoss', label_smoothing=0.0),
)
