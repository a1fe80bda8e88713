"""Evaluation: FID / IS / precision-recall over torch-fidelity, offline feature extractors,
reference sets and folders of generated samples."""
from .feature_extractor import (FeatureExtractorWeightsNotFoundError, build_feature_extractor,
                                default_weights_path, resolve_feature_extractor_weights)
from .metrics import SampleImageWriter, TorchFidelityMetric
from .reference import (NpzImageDataset, center_crop_arr, load_reference_statistics,
                        reference_dataset, save_reference_statistics)
from .provenance import OutputConflictError
from .reference import ReferenceFileError
from .sample_folder import (SampleFolderDataset, list_sample_indices, pack_sample_folder,
                            prepare_sample_folder, sample_image_path, write_sample_image)

__all__ = [
    'FeatureExtractorWeightsNotFoundError', 'build_feature_extractor', 'default_weights_path',
    'resolve_feature_extractor_weights', 'SampleImageWriter', 'TorchFidelityMetric',
    'NpzImageDataset', 'center_crop_arr', 'load_reference_statistics', 'reference_dataset',
    'save_reference_statistics', 'SampleFolderDataset', 'list_sample_indices',
    'pack_sample_folder', 'sample_image_path', 'write_sample_image', 'prepare_sample_folder',
    'OutputConflictError', 'ReferenceFileError'
]
