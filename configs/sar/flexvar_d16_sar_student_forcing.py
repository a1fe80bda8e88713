# Ablation: full student forcing (docs/method.md §1.2). 32 GPUs x 24, 10 epochs.
# Differs from flexvar_d16_sar.py: every scale's input comes from the model's
# own previous-scale tokens (K chained forwards, Markovian attention, tokens
# sampled with top-k 900 / top-p 0.96, no guidance), cross-entropy vs ground
# truth on every scale.
_base_ = ['./flexvar_d16_sar.py']

model = dict(
    rollout=dict(_delete_=True, type='StudentForcing', context='markov',
                 token_selection='sample', top_k=900, top_p=0.96, seed=0),
    loss=dict(_delete_=True, type='ScaleCrossEntropyLoss', label_smoothing=0.0),
)
