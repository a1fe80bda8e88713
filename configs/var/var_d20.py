# VAR-d20 evaluation on ImageNet 256 (50k samples): VAR's FID sampling recipe
# (cfg 1.5, top-k 900, top-p 0.96). Weights: tools/model_converters output for
# var_d20.pth, given to tools/test.py.
# Sampling: batch_invariant='auto' runs each batch through the transformer at
# once on CUDA (far faster; one random stream per sample, but batched matmuls
# can flip a rare token with the batch composition) and every sample alone on
# a CPU (bit-identical per label and seed for any batch or process count).
# tools/test.py --protocol exact|official: docs/evaluation_protocols.md.
_base_ = [
    '../_base_/models/var_d20.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/imagenet_256_fid50k.py',
]

# CUDA numerics of a training run, as VAR's official trainer sets them (utils/arg_util.py:
# TF32 on; cuDNN benchmark on, pg=0; cuDNN deterministic off, seed=None).
# tools/train.py sets them once at start-up; sampling keeps test_cfg's (docs/method.md §6.1).
train_numerics = dict(tf32=True, cudnn_benchmark=True, cudnn_deterministic=False)

model = dict(test_cfg=dict(batch_invariant='auto'))
