# FlexVAR-d16 (310M): FlexVAE tokenizer (LlamaGen VQ-16, V=8912, Cvae=32,
# L2-normalised codebook) + FlexVARTransformer of depth 16 (width 64 x depth and
# drop-path 0.1 x depth / 24 are derived in code). Teacher forcing on FlexVAR's
# random per-step schedule (docs/method.md §4.1, §4.5). test_cfg: the paper's
# 10-step FID protocol (docs/method.md §6.2); the leaf configs set the guidance
# scale.
model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(
        type='FlexVQVAE',
        ch=128,
        z_channels=256,
        ch_mult=(1, 1, 2, 2, 4),
        num_res_blocks=2,
        vocab_size=8912,
        embed_dim=32),
    backbone=dict(
        type='FlexVARTransformer',
        depth=16,
        num_classes=1000,
        vocab_size=8912,
        cvae=32,
        cond_drop_rate=0.1,
        attn_l2_norm=True,
        pos_grid_size=32),
    rollout=dict(type='TeacherForcing'),
    loss=dict(type='ScaleCrossEntropyLoss', label_smoothing=0.0),
    scale_schedule=dict(type='FlexVARRandomScaleSchedule', seed=0),
    data_preprocessor=dict(type='GeneratorDataPreprocessor'),
    test_cfg=dict(
        # the canonical schedule, sar_mm.models.utils.scale_layout.CANONICAL_PATCH_NUMS
        patch_nums=(1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
        cfg=2.5,
        # t = cfg * si / min(K - 1, 9): the VAR ramp for 10 scales, cfg beyond max_pn
        cfg_schedule='flexvar',
        top_k=900,
        top_p=0.95,
        max_pn=16,
        # scales FlexVAR samples with top-k; every other scale is drawn greedily
        sampled_scales=(1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 23, 24, 32)),
)
