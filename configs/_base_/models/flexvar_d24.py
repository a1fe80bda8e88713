# FlexVAR-d24 (1.0B): flexvar_d16 with depth 24 (AdaLN gamma init 1e-4, derived in code).
_base_ = ['./flexvar_d16.py']

model = dict(backbone=dict(depth=24))
