# VAR-d20 evaluation on ImageNet 256 (50k samples): VAR's FID sampling recipe
# (cfg 1.5, top-k 900, top-p 0.96). Weights: tools/model_converters output for
# var_d20.pth, given to tools/test.py.
_base_ = [
    '../_base_/models/var_d20.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/imagenet_256_fid50k.py',
]
