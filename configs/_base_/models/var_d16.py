# VAR-d16 (310M): VAR's residual multi-scale VQVAE (V=4096, Cvae=32, shared
# phi x4) + VARTransformer of depth 16 on the fixed 10-scale schedule, teacher
# forcing. test_cfg: VAR's FID recipe (cfg 1.5, top-k 900, top-p 0.96, linear
# ramp t = cfg * si / (K - 1)).
# the canonical schedule, sar_mm.models.utils.scale_layout.CANONICAL_PATCH_NUMS
patch_nums = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16)

model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(
        type='MultiScaleVQVAE',
        ch=160,
        z_channels=32,
        vocab_size=4096,
        share_quant_resi=4,
        quant_resi=0.5,
        patch_nums=patch_nums,
        ch_mult=(1, 1, 2, 2, 4),
        num_res_blocks=2),
    backbone=dict(
        type='VARTransformer',
        depth=16,
        num_classes=1000,
        vocab_size=4096,
        cvae=32,
        patch_nums=patch_nums,
        cond_drop_rate=0.1,
        attn_l2_norm=True),
    rollout=dict(type='TeacherForcing'),
    loss=dict(type='ScaleCrossEntropyLoss', label_smoothing=0.0),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=patch_nums),
    data_preprocessor=dict(type='GeneratorDataPreprocessor'),
    test_cfg=dict(
        patch_nums=patch_nums,
        cfg=1.5,
        cfg_schedule='var',
        top_k=900,
        top_p=0.96,
        max_pn=None,
        sampled_scales=None),
)
