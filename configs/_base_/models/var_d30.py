# VAR-d30: var_d16 with depth 30.
_base_ = ['./var_d16.py']

model = dict(backbone=dict(depth=30))
