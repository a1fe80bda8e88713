# The tiny FlexVAR of tiny_flexvar_tf.py trained on cached tokenizer latents
# (LatentDataset) of its 8 synthetic shapes, one epoch. The tokenizer comes from
# load_from (only tokenizer.* keys); the latent file is written by
# tools/extract_latents.py from a tokenizer checkpoint. Both paths are given on
# the command line. For the tool tests (seconds on a CPU). Not a recipe.
_base_ = ['./tiny_flexvar_tf.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='LatentDataset',
        latent_file='latents.npz',
        source=dict(type='SyntheticShapesDataset', num_samples=8, image_size=16, seed=0),
        pipeline=[dict(type='RandomLatentFlip', prob=0.5), dict(type='PackLatentInputs')]))

max_epochs = 1
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(strict_checkpoint=dict(ignore_prefixes=('backbone.', )))
