# Tokenizer of the toy pipeline: the tiny FlexVQVAE of
# _base_/models/flexvar_tiny_shapes.py trained as a VQ autoencoder on 32 px
# synthetic shapes (VQTokenizerTrainer: L2-normalised nearest code, straight-
# through estimator; VQLoss: L2 reconstruction + codebook + 0.25 commitment).
# Its checkpoint keys are ``tokenizer.*``, so the FlexVAR configs start from it
# with ``load_from``. 6 epochs x 100 iterations of 64 images, AdamW 2e-3 with a
# short warmup and a linear decay; autocast as the precision policy chooses
# (sar_mm.utils.precision: bf16 only on CPUs with native bf16, else fp32).
# Cheaper recipes reconstruct held-out shapes clearly worse (PSNR: this one,
# before the codebook hooks, 23.2 dB; 300 x 64 images 20.7 dB; 400 x 32
# images 20.6 dB; 600 x 64 random 16 px crops 16.7 dB), and 600 x 32 images
# raised the toy FID of the
# pretrained FlexVAR from 4.0 to 5.2 on one machine; see docs/benchmarks.md.
# Codebook health (configs/_base_/recipes/vq_codebook_health.py): a k-means
# initialisation of the codebook from the first batch's encoder outputs and
# dead-code restarts every 50 iterations; usage, perplexity and dead codes
# logged every 10 iterations; after training the PSNR per scale of 512
# held-out shapes (seed 3), written to reconstruction.json in the work dir.
# One run each on an AMX CPU (bf16), 600 iterations: without the init and the
# restarts, 30.3 % of the codes used in the last window and 24.63 dB held-out
# PSNR (8x8 scale); with them, 99.8 % and 25.18 dB; docs/tokenizer_training.md.
_base_ = [
    '../_base_/models/flexvar_tiny_shapes.py',
    '../_base_/datasets/synthetic_shapes_32.py',
    '../_base_/default_runtime.py',
    '../_base_/recipes/vq_codebook_health.py',
]

model = dict(
    _delete_=True,
    type='VQTokenizerTrainer',
    tokenizer={{_base_.tokenizer}},
    loss=dict(type='VQLoss', rec_loss_type='l2', rec_weight=1.0, codebook_weight=1.0,
              commitment_weight=0.25),
    data_preprocessor=dict(type='GeneratorDataPreprocessor'))

train_dataloader = dict(batch_size=64, num_workers=1, dataset=dict(num_samples=6400))

max_epochs = 6
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(
    type='SkipNonFiniteAmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.95), weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, end_factor=1.0, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.05, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]

default_hooks = dict(logger=dict(interval=10), checkpoint=dict(max_keep_ckpts=1))
custom_hooks = [
    _base_.codebook_usage_hook,
    _base_.codebook_init_hook,
    _base_.dead_code_restart_hook,
    dict(type='HeldOutReconstructionHook',
         dataset=dict(type='SyntheticShapesDataset', num_samples=512, image_size=32, seed=3,
                      pipeline=[dict(type='PackGeneratorInputs')]),
         patch_nums=(1, 2, 3, 4, 5, 6, 8), num_images=512),
]
log_processor = dict(window_size=10)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
