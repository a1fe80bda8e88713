# Teacher-forcing pretraining of the tiny FlexVAR on 32 px synthetic shapes
# (tools/run_toy.py, stage 3): FlexVAR's random schedule scaled to a largest
# scale of 8, batch 64, 10 epochs x 100 iterations, AdamW 1e-3 (0.9, 0.95),
# wd 0.05 without decay on 1-D/bias/positions/scale_mul, clip 2.0, the lin0
# shape of tf_pretrain.py, autocast as the precision policy chooses (bf16
# only on CPUs with native bf16, else fp32). Starts from the trained
# tokenizer: ``load_from`` holds only ``tokenizer.*`` keys, so the strict
# checkpoint check leaves ``backbone.*`` out (it keeps its initialisation);
# tools/run_toy.py passes the checkpoint of its own tokenizer stage.
_base_ = [
    '../_base_/models/flexvar_tiny_shapes.py',
    '../_base_/datasets/synthetic_shapes_32.py',
    '../_base_/schedules/tf_pretrain.py',
    '../_base_/default_runtime.py',
]

# The tokenizer is frozen, so its latents of the 6400 training images (as is
# and mirrored) are computed once and served by a LatentDataset; every step
# quantises them on its own schedule, which gives the token maps of the images
# without running the encoder (a fifth of a step on a CPU). Write the file with
# `python tools/extract_latents.py THIS_CONFIG TOKENIZER_CHECKPOINT --out
# LATENT_FILE --trust-checkpoint` (tools/run_toy.py does).
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='LatentDataset',
        latent_file='work_dirs/toy/latents/shapes_train.npz',
        source=dict(type='SyntheticShapesDataset', num_samples=6400, image_size=32, seed=0),
        pipeline=[dict(type='RandomLatentFlip', prob=0.5), dict(type='PackLatentInputs')]))

max_epochs = 10
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(type='SkipNonFiniteAmpOptimWrapper', optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.005, end_factor=1.0, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.1, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(max_keep_ckpts=1),
    strict_checkpoint=dict(ignore_prefixes=('backbone.', )))
log_processor = dict(window_size=10)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])

load_from = 'work_dirs/toy/vqvae_tiny_shapes/epoch_6.pth'
