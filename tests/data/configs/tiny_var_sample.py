# A tiny VAR generator for the inference API and demo tests: a 2-level
# MultiScaleVQVAE (8 px images, 4 x 4 latent, residual scales 1, 2, 4) and a
# depth-1 VARTransformer; the model only (no data, no schedule). Not a recipe.
default_scope = 'sar_mm'

patch_nums = (1, 2, 4)
model = dict(
    type='ScaleWiseAR',
    tokenizer=dict(type='MultiScaleVQVAE', ch=32, z_channels=8, vocab_size=64, ch_mult=(1, 1),
                   num_res_blocks=1, patch_nums=patch_nums),
    backbone=dict(type='VARTransformer', depth=1, num_classes=10, vocab_size=64, cvae=8,
                  patch_nums=patch_nums),
    scale_schedule=dict(type='FixedScaleSchedule', patch_nums=patch_nums),
    test_cfg=dict(patch_nums=patch_nums, cfg=2.0, cfg_schedule='var', top_k=16, top_p=0.9),
)
