# SAR post-training schedule of the public scripts (train_SAR_d16.sh), d16 values.
# The official run resumes FlexVARd16-epo179 (179 of its 190 pretraining epochs
# done) with a fresh AdamW state and keeps walking the pretraining ``lin0``
# schedule (lr_control.py: lr_wd_annealing) for the remaining 11 epochs: the lr
# falls linearly from 4.679e-5 to 3.0e-5 (at 1669 iterations per epoch, the
# official ImageNet epoch at global batch 768). ``Lin0LR`` computes the official
# value of every iteration from the peak lr (the optimizer's lr, official
# tblr 1e-4 x 768 / 256) and the run's real epoch length.
# d20 / d24 and the paper's 10-epoch variants override ``param_scheduler``
# (docs/training_on_a_cluster.md, "Schedules"). To train fewer epochs, set both
# train_cfg.max_epochs and param_scheduler.0.end.
max_epochs = 11

optim_wrapper = dict(
    # fp16 autocast + GradScaler(init 2**11, growth interval 1000, scale capped at
    # 32768) on CUDA, clipping after unscale, as the official trainer; on a CPU
    # the precision policy (bf16 only where it runs natively, else fp32).
    type='SkipNonFiniteAmpOptimWrapper',
    loss_scale=dict(init_scale=2.0**11, growth_interval=1000),
    max_loss_scale=32768.0,
    # peak lr of lin0: tblr 1e-4 x global batch 768 / 256
    optimizer=dict(type='AdamW', lr=3e-4, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=2.0),
    # No weight decay on 1-D params, biases, positions, ``scale_mul`` and the
    # backbone's ``no_weight_decay_names()``.
    constructor='NoDecayOptimWrapperConstructor',
)

param_scheduler = [
    dict(type='Lin0LR', total_epochs=190, start_epoch=179, final_ratio=0.1, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)

# The lr above is the official one for a global batch of 768 (train_dataloader.
# global_batch_size); --auto-scale-lr rescales it linearly for another global batch.
auto_scale_lr = dict(enable=False, base_batch_size=768)
