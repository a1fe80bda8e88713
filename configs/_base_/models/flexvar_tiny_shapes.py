# Tiny FlexVAR for the 32 px synthetic shapes (tools/run_toy.py): a FlexVQVAE
# with 4x downsampling (ch_mult of length 3: 32 px -> 8 x 8 latent), 512 codes
# of dimension 8 (L2-normalised, as FlexVAE), and a FlexVARTransformer of depth
# 2 (width 128, 2 heads; width and drop-path rate derived in code), 10 classes.
# Scale schedule: FlexVAR's random per-step schedule (docs/method.md §4.1)
# scaled to a largest scale of 8 (see the comment there); sampling on the
# canonical toy schedule 1,2,3,4,5,6,8 (7 steps, 155 tokens).
tokenizer = dict(
    type='FlexVQVAE',
    ch=32,
    z_channels=32,
    ch_mult=(1, 2, 2),
    num_res_blocks=1,
    vocab_size=512,
    embed_dim=8,
    usage_buffer_size=1024)

model = dict(
    type='ScaleWiseAR',
    tokenizer=tokenizer,
    backbone=dict(
        type='FlexVARTransformer',
        depth=2,
        num_classes=10,
        vocab_size=512,
        cvae=8,
        cond_drop_rate=0.1,
        attn_l2_norm=True,
        pos_grid_size=8),
    rollout=dict(type='TeacherForcing'),
    loss=dict(type='ScaleCrossEntropyLoss', label_smoothing=0.0),
    # FlexVAR's draw with every range halved to fit a largest scale of 8: with
    # probability 0.05 the canonical toy schedule, otherwise [1, 2] + 2 of
    # {3, 4, 5} + 1 of {6, 7} + [8]; the official random drops except the fourth
    # (u > 0.99), which six scales cannot afford; a token cap of 155 (the
    # canonical count, as 680 is officially) that may drop the 8.
    # The last transition that SAR student-forces therefore varies from step
    # to step, as in the official recipe.
    scale_schedule=dict(
        type='FlexVARRandomScaleSchedule',
        seed=0,
        canonical=(1, 2, 3, 4, 5, 6, 8),
        mid_range=(3, 5),
        mid_count=2,
        high_range=(6, 7),
        high_count=1,
        last_scale=8,
        drop_thresholds=(0.90, 0.95, 0.98),
        max_tokens=155),
    data_preprocessor=dict(type='GeneratorDataPreprocessor'),
    test_cfg=dict(
        patch_nums=(1, 2, 3, 4, 5, 6, 8),
        cfg=1.5,
        cfg_schedule='flexvar',
        # about 10% of the codebook, as top-k 900 of 8912 officially
        top_k=50,
        top_p=0.95,
        max_pn=8,
        sampled_scales=None,
        # sample a batch at once (per-sample random streams): about 50x faster on a
        # CPU than one transformer call per sample
        batch_invariant=False),
)
