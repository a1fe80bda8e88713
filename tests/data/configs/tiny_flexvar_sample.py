# A tiny FlexVAR generator for the inference API and demo tests: a 2-level
# FlexVQVAE (8 px images, 4 x 4 latent) and a depth-1 FlexVARTransformer; the
# model only (no data, no schedule). Not a recipe.
default_scope = 'sar_mm'

model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='FlexVQVAE', ch=32, z_channels=32, ch_mult=(1, 2), num_res_blocks=1,
                   vocab_size=64, embed_dim=8, usage_buffer_size=16),
    backbone=dict(type='FlexVARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                  pos_grid_size=4, mask_cache_size=4),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=(1, 2, 4)),
    test_cfg=dict(patch_nums=(1, 2, 4), cfg=2.0, cfg_schedule='flexvar', top_k=16, top_p=0.9),
)
