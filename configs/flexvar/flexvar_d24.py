# FlexVAR-d24 evaluation on ImageNet 256 (50k samples), paper protocol (spec 6.2,
# eval_SAR_d24.sh): 10 steps 1..16, cfg 3.3 with the VAR-style ramp, top-k 900,
# top-p 0.95. Weights: tools/model_converters/flexvar_to_sarmm.py output, given
# to tools/test.py. Differs from the base model config: the guidance scale.
_base_ = [
    '../_base_/models/flexvar_d24.py',
    '../_base_/default_runtime.py',
    '../_base_/evaluation/imagenet_256_fid50k.py',
]

model = dict(test_cfg=dict(cfg=3.3))
