# A small residual tokenizer (VAR's MultiScaleVQVAE) for 16 px synthetic shapes:
# 2x downsampling (ch_mult of length 2: 16 px -> 8 x 8 latent), 64 codes of
# dimension 8, residual scales 1, 2, 3, 4, 6, 8 with 4 shared phi convs.
# Trained as a residual VQ autoencoder (VQTokenizerTrainer: VAR's
# residual quantisation with the straight-through estimator; VQLoss: L2
# reconstruction + codebook + 0.25 commitment), the codebook initialised at the
# latent's scale (std 0.05: N(0, 1) leaves most codes dead). Small enough to
# train in seconds on a CPU, for the tests and measurements of zero-shot
# editing with a residual tokenizer (docs/method.md §5.4); not a stage of
# tools/run_toy.py, whose FlexVAR pipeline runs at 32 px. Its checkpoint keys
# are ``tokenizer.*``.
_base_ = [
    '../_base_/datasets/synthetic_shapes_32.py',
    '../_base_/default_runtime.py',
]

patch_nums = (1, 2, 3, 4, 6, 8)
tokenizer = dict(
    type='MultiScaleVQVAE',
    ch=32,
    z_channels=8,
    vocab_size=64,
    share_quant_resi=4,
    ch_mult=(1, 1),
    num_res_blocks=1,
    patch_nums=patch_nums)

model = dict(
    type='VQTokenizerTrainer',
    tokenizer=tokenizer,
    codebook_init_std=0.05,
    loss=dict(type='VQLoss', rec_loss_type='l2', rec_weight=1.0, codebook_weight=1.0,
              commitment_weight=0.25),
    data_preprocessor=dict(type='GeneratorDataPreprocessor'))

image_size = 16
train_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(num_samples=1600, image_size=image_size))

max_epochs = 1
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='SkipNonFiniteAmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-3, betas=(0.9, 0.95), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
log_processor = dict(window_size=10)
