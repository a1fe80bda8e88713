"""Datasets and data transforms."""
from .class_label_dataset import ClassLabelDataset
from .errors import UnreadableImageError
from .imagenet import IMG_EXTENSIONS, ImageNetDataset
from .latent_dataset import LATENT_VIEWS, LatentDataset, read_latent_file
from .latent_provenance import check_latent_tokenizer, tokenizer_digest
from .synthetic_shapes import SHAPE_CLASSES, SyntheticShapesDataset, render_shape_image
from .transforms import (ADMRandomCrop, LoadRGBImageFromFile, PackGeneratorInputs,
                         PackLatentInputs, RandomLatentFlip, adm_random_crop, read_rgb_image)
from .worker_seeding import seed_worker_from_torch

__all__ = ['ImageNetDataset', 'IMG_EXTENSIONS', 'SyntheticShapesDataset', 'SHAPE_CLASSES',
           'render_shape_image', 'UnreadableImageError', 'ADMRandomCrop', 'adm_random_crop',
           'LoadRGBImageFromFile', 'read_rgb_image', 'PackGeneratorInputs', 'ClassLabelDataset',
           'seed_worker_from_torch', 'LatentDataset', 'LATENT_VIEWS',
           'read_latent_file', 'PackLatentInputs', 'RandomLatentFlip', 'tokenizer_digest',
           'check_latent_tokenizer']
