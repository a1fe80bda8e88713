# SAR post-training of the tiny FlexVAR (tools/run_toy.py, stage 4). Same data,
# batch, optimizer, schedule, steps and seeds as flexvar_tiny_shapes_tf.py;
# differs only in SAR's rollout and loss, with the settings of
# ../_base_/recipes/sar_ssr_csfl.py except top-k 50 (about 10% of the 512
# codes, as 900 of 8912 officially).
_base_ = ['./flexvar_tiny_shapes_tf.py', '../_base_/recipes/sar_ssr_csfl.py']

model = dict(rollout=dict(_base_.sar_rollout, top_k=50, _delete_=True),
             loss=dict(_base_.sar_loss, _delete_=True))
