# FlexVAR-d20 evaluation on ImageNet 256 (50k samples), paper protocol
# (docs/method.md §6.2, eval_SAR_d20.sh): 10 steps 1..16, cfg 2.6 with the
# VAR-style ramp, top-k 900, top-p 0.95. Weights:
# tools/model_converters/flexvar_to_sarmm.py output, given to tools/test.py.
# Differs from the base model config: the guidance scale.
# Sampling: batch_invariant='auto' runs each batch through the transformer at
# once on CUDA (far faster; one random stream per sample, but batched matmuls
# can flip a rare token with the batch composition) and every sample alone on
# a CPU (bit-identical per label and seed for any batch or process count).
# tools/test.py --protocol exact|official: docs/evaluation_protocols.md.
_base_ = [
    '../_base_/models/flexvar_d20.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/imagenet_256_fid50k.py',
]

# CUDA numerics of a training run, as the official FlexVAR / SAR trainers set them
# (utils/arg_util.py: TF32 on; cuDNN benchmark on, pg=0; cuDNN deterministic on, seed=0).
# tools/train.py sets them once at start-up; sampling keeps test_cfg's (docs/method.md §6.1).
train_numerics = dict(tf32=True, cudnn_benchmark=True, cudnn_deterministic=True)

model = dict(test_cfg=dict(batch_invariant='auto', cfg=2.6))
