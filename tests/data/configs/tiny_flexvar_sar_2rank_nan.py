# tiny_flexvar_sar_2rank.py with a NaN loss on rank 1 only, in iteration 2
# (0-based 1), whose gradients stay finite (test-only hook).
_base_ = ['./tiny_flexvar_sar_2rank.py']

custom_hooks = [dict(type='RecordRankState'), dict(type='NaNLossOnRank', rank=1, iteration=1)]
