# The tiny SAR run of tiny_flexvar_sar.py for 2 processes (gloo), for the
# distributed fault tests: 32 samples, so each rank trains 4 batches of 4 per
# epoch (8 iterations); a checkpoint after every iteration, so a killed run
# resumes inside an epoch; skipped non-finite steps do not stop the run; every
# rank records its batches, losses and parameter checksums (a test-only hook,
# tests/test_reliability/rank_probe_hooks.py, on PYTHONPATH).
_base_ = ['./tiny_flexvar_sar.py']

train_dataloader = dict(dataset=dict(num_samples=32))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1, max_keep_ckpts=2),
                     nonfinite=dict(policy='skip'))
custom_imports = dict(imports=['rank_probe_hooks'], allow_failed_imports=False)
custom_hooks = [dict(type='RecordRankState')]
# a lost peer ends every rank's collectives after 5 s
env_cfg = dict(dist_cfg=dict(timeout=5))
