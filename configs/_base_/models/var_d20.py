# VAR-d20: var_d16 with depth 20.
_base_ = ['./var_d16.py']

model = dict(backbone=dict(depth=20))
