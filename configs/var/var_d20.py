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

model = dict(test_cfg=dict(batch_invariant='auto'))
