"""High-level APIs: build a generator from a config and checkpoint, sample images."""
from .inference import (CheckpointMismatchError, image_grid, init_generator,
                        load_generator_checkpoint, sample_images, state_dict_mismatches)

__all__ = ['CheckpointMismatchError', 'image_grid', 'init_generator',
           'load_generator_checkpoint', 'sample_images', 'state_dict_mismatches']
