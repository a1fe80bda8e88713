# FlexVAR-d20 (600M): flexvar_d16 with depth 20.
_base_ = ['./flexvar_d16.py']

model = dict(backbone=dict(depth=20))
