# Teacher-forcing continuation of the tiny FlexVAR: the control run for
# flexvar_tiny_shapes_sar.py (tools/run_toy.py, stage 4). Same data, batch,
# optimizer, schedule, steps and seeds as the SAR run; only the rollout and
# loss differ (teacher forcing + ScaleCrossEntropyLoss). Post-training walks
# the tail of the pretraining lr (0.1 x 1e-3, linear to 0.05 x) with a fresh
# AdamW state, as the official SAR scripts do, for 1 epoch x 100 iterations
# (about 10% of the pretraining steps; SAR's 10 of 180 epochs are 5.6%).
# Starts from the pretraining checkpoint (``load_from``; None trains from
# scratch); tools/run_toy.py passes the checkpoint of its own pretraining stage.
_base_ = ['./flexvar_tiny_shapes_tf_pretrain.py']

max_epochs = 1
train_cfg = dict(type='MidEpochResumableTrainLoop', max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-4))
# the pretraining checkpoint must fit the whole generator
default_hooks = dict(strict_checkpoint=dict(ignore_prefixes=()))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.5, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]

load_from = 'work_dirs/toy/flexvar_tiny_shapes_tf_pretrain/epoch_10.pth'
