"""High-level APIs: build a generator from a config and checkpoint, sample images,
edit images zero-shot, cache a frozen tokenizer's latents."""
from .image_editing import as_binary_masks, edit_grid, edit_images, known_region
from .inference import (image_grid, init_demo_generator, init_generator,
                        load_generator_checkpoint, sample_images)
from .latent_extraction import (extract_latents, latent_source_config, load_tokenizer_checkpoint,
                                save_latent_file, tokenizer_digest)

__all__ = ['as_binary_masks', 'edit_grid', 'edit_images', 'known_region',
           'image_grid', 'init_demo_generator', 'init_generator', 'load_generator_checkpoint',
           'sample_images',
           'extract_latents', 'latent_source_config', 'load_tokenizer_checkpoint',
           'save_latent_file', 'tokenizer_digest']
