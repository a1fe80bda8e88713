"""Data transforms (MMCV ``BaseTransform`` subclasses in sar_mm's ``TRANSFORMS``)."""
from .adm_random_crop import ADMRandomCrop, adm_random_crop
from .formatting import PackGeneratorInputs
from .latent_transforms import PackLatentInputs, RandomLatentFlip
from .loading import LoadRGBImageFromFile, read_rgb_image

__all__ = ['ADMRandomCrop', 'adm_random_crop', 'PackGeneratorInputs', 'LoadRGBImageFromFile',
           'read_rgb_image', 'PackLatentInputs', 'RandomLatentFlip']
