# Synthetic 10-class toy data at 64 px (see synthetic_shapes_32.py).
_base_ = ['./synthetic_shapes_32.py']

image_size = 64

train_dataloader = dict(batch_size=32, dataset=dict(image_size=image_size))
