# SAR post-training of FlexVAR-d20 as the paper describes it: 10 epochs from a
# FlexVAR-d20 checkpoint after 240 of 250 pretraining epochs, on the lin0 tail
# of that 250-epoch horizon: lr 4.160e-5 -> 3.0e-5.
# NEEDS A CHECKPOINT THAT IS NOT RELEASED: the authors published FlexVAR-d20
# only at the end of pretraining (flexvar_d20_sar.py reproduces the public
# script from that one). Convert a 240-epoch checkpoint of your own FlexVAR
# pretraining to load_from.
# Start epoch 240, not 239, for the reason flexvar_d16_sar_paper.py gives:
# epoch indices 240..249, 10 epochs after 240 finished ones, ending at
# the index of the released SARd20-epo249.pth; the official trainer
# would start a bare -epo239 weight file at 239 and run 11 epochs.
# Differs from flexvar_d20_sar.py: 10 epochs, the 250-epoch lin0 horizon from
# epoch 240, the start checkpoint.
_base_ = ['./flexvar_d20_sar.py']

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs)

load_from = 'checkpoints/flexvar_d20_epo240_sarmm.pth'

param_scheduler = [
    dict(type='Lin0LR', total_epochs=250, start_epoch=240, final_ratio=0.1, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
