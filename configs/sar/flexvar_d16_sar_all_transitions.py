# Ablation: SSR over every transition as in the paper's Fig. 3
# (docs/method.md §2.1). 32 GPUs x 24, 10 epochs.
# Differs from flexvar_d16_sar.py: the student pass covers scales 2..K in one
# block-causal pass over the scale-shifted sequence (sf_scope='all',
# sf_context='full') instead of only the last transition with the Markovian
# pass.
_base_ = ['./flexvar_d16_sar.py']

model = dict(rollout=dict(sf_scope='all', sf_context='full'))
