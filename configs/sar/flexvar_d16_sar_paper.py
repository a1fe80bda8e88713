# SAR post-training of FlexVAR-d16 as the paper describes it: 10 epochs from a
# FlexVAR-d16 checkpoint after 170 of 180 pretraining epochs, on the lin0 tail
# of that 180-epoch horizon: lr 4.611e-5 -> 3.0e-5.
# NEEDS A CHECKPOINT THAT IS NOT RELEASED: the authors published FlexVAR-d16
# only at the end of pretraining (flexvar_d16_sar.py reproduces the public
# script from that one). Convert a 170-epoch checkpoint of your own FlexVAR
# pretraining to load_from.
# Differs from flexvar_d16_sar.py: 10 epochs, the 180-epoch lin0 horizon from
# epoch 170, the start checkpoint.
_base_ = ['./flexvar_d16_sar.py']

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs)

load_from = 'checkpoints/flexvar_d16_epo170_sarmm.pth'

param_scheduler = [
    dict(type='Lin0LR', total_epochs=180, start_epoch=170, final_ratio=0.1, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
