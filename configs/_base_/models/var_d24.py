# VAR-d24: var_d16 with depth 24.
_base_ = ['./var_d16.py']

model = dict(backbone=dict(depth=24))
