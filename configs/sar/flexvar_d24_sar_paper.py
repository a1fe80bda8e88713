# SAR post-training of FlexVAR-d24 as the paper describes it: 10 epochs from a
# FlexVAR-d24 checkpoint after 340 of 350 pretraining epochs, on the lin0 tail
# of that 350-epoch horizon: lr 9.691e-6 -> 2.4e-6.
# NEEDS A CHECKPOINT THAT IS NOT RELEASED: the authors published FlexVAR-d24
# only at the end of pretraining (flexvar_d24_sar.py reproduces the public
# script from that one). Convert a 340-epoch checkpoint of your own FlexVAR
# pretraining to load_from.
# Start epoch 340, not 339, for the reason flexvar_d16_sar_paper.py gives:
# epoch indices 340..349, 10 epochs after 340 finished ones, ending at
# the index of the released SARd24-epo349.pth; the official trainer
# would start a bare -epo339 weight file at 339 and run 11 epochs.
# Differs from flexvar_d24_sar.py: 10 epochs, the 350-epoch lin0 horizon from
# epoch 340, the start checkpoint.
_base_ = ['./flexvar_d24_sar.py']

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs)

load_from = 'checkpoints/flexvar_d24_epo340_sarmm.pth'

param_scheduler = [
    dict(type='Lin0LR', total_epochs=350, start_epoch=340, final_ratio=0.01, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]
