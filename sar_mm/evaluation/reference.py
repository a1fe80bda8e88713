"""Reference sets for generative metrics: image folders and ``.npz`` files.

A reference is one of:

* a folder of images (``png``/``jpg``/``jpeg``, all the same size, read by
  torch-fidelity's own folder dataset);
* an ``.npz`` file holding FID statistics ``mu`` (D,) and ``sigma`` (D, D),
  written by ``tools/analysis_tools/make_fid_ref_stats.py`` (which also stores
  ``feature_extractor``, ``feature_layer`` and ``num_images``);
* an ``.npz`` in the OpenAI (ADM) evaluator format: ``arr_0`` uint8
  (N, H, W, 3) images, optionally with ``mu`` / ``sigma``
  (``VIRTUAL_imagenet256_labeled.npz``, docs/method.md §6.2).

FID needs statistics (from the file, else from the reference images);
precision/recall needs reference images.

A reference that cannot be trusted is refused or flagged: a missing file is
named with what it is and where it comes from, an unreadable ``.npz`` (empty,
truncated) with its path, statistics holding NaN or inf are an error, and
statistics of fewer images than feature dimensions (a singular covariance, so
FID is not comparable) are a warning.
"""
import json
import logging
import os.path as osp
import zipfile
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.logging import print_log
from PIL import Image
from torch.utils.data import Dataset
from torch_fidelity.datasets import ImagesPathDataset
from torch_fidelity.utils import glob_samples_paths

from sar_mm.engine.atomic_local_backend import atomic_write_file
from sar_mm.utils.adm_resize import adm_resize_short_side

__all__ = [
    'ReferenceFileError', 'NpzImageDataset', 'center_crop_arr', 'reference_has_images',
    'reference_dataset', 'load_reference_statistics', 'save_reference_statistics',
    'missing_reference_message', 'open_npz', 'warn_few_images'
]

IMAGE_EXTENSIONS = 'png,jpg,jpeg'
ADM_REFERENCE_BATCH = 'VIRTUAL_imagenet256_labeled.npz'


class ReferenceFileError(ValueError):
    """A reference (or sample) ``.npz`` that cannot be read or holds unusable numbers."""


def missing_reference_message(path: str, flag: str) -> str:
    """What a missing reference ``path`` (given by ``flag``) is and where it comes from."""
    return (f'{flag} {path} not found: the reference is a folder of real images, an ADM reference '
            f'batch (e.g. {ADM_REFERENCE_BATCH}, from the ADM evaluation suite of '
            'openai/guided-diffusion, evaluations/README.md) or FID statistics written by '
            'tools/analysis_tools/make_fid_ref_stats.py; fetch or make it, or fix the path')


def open_npz(path: str) -> Any:
    """``np.load(path)`` of an ``.npz``, with a damaged file named.

    Raises:
        FileNotFoundError: no such file.
        ReferenceFileError: empty, truncated or not a NumPy ``.npz`` archive.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found')
    try:
        data = np.load(path)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f'a single {type(data).__name__}, not an archive of arrays')
        return data
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise ReferenceFileError(f'{path} is not a readable .npz (empty, truncated or not a NumPy '
                                 f'archive: {" ".join(str(error).split()) or type(error).__name__})'
                                 '; write or fetch it again') from error


def warn_few_images(path: str, num_images: int, dimension: int, what: str) -> None:
    """Warn that ``num_images`` < ``dimension`` features make a singular covariance."""
    if num_images < dimension:
        print_log(f'{what} {path} come from {num_images} images, fewer than the {dimension} '
                  'feature dimensions: the covariance is singular and the FID is not comparable '
                  'with published numbers (those use 10k-50k images)', logger='current',
                  level=logging.WARNING)


class NpzImageDataset(Dataset):
    """Images of an ADM-format ``.npz`` (``arr_0``: uint8 (N, H, W, 3)).

    Items are uint8 tensors (3, H, W), the input torch-fidelity's extractors
    expect. The whole array is read into memory.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        with open_npz(path) as data:
            if 'arr_0' not in data.files:
                raise ReferenceFileError(f'{path} has no "arr_0" image array (keys: {data.files})')
            self.images = np.asarray(data['arr_0'])
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ReferenceFileError(f'{path}: "arr_0" must be uint8 (N, H, W, 3), got '
                             f'{self.images.dtype} {self.images.shape}')

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        # (H, W, 3) -> (3, H, W)
        return torch.from_numpy(np.ascontiguousarray(self.images[index])).permute(2, 0, 1)


def center_crop_arr(pil_image: Image.Image, image_size: int) -> np.ndarray:
    """ADM's centre crop of reference images (``guided_diffusion`` ``center_crop_arr``).

    :func:`~sar_mm.utils.adm_resize.adm_resize_short_side` to ``image_size``, then
    the centre ``image_size`` square.

    Args:
        pil_image: an RGB image.
        image_size: output side.

    Returns:
        ndarray: uint8 (image_size, image_size, 3).
    """
    arr = adm_resize_short_side(pil_image, image_size)  # (H', W', 3), short side image_size
    top = (arr.shape[0] - image_size) // 2
    left = (arr.shape[1] - image_size) // 2
    return np.ascontiguousarray(arr[top:top + image_size, left:left + image_size])


def _npz_keys(path: str) -> list:
    with open_npz(path) as data:
        return list(data.files)


def reference_has_images(path: str) -> bool:
    """Whether a reference (folder or ``.npz``) provides images."""
    if osp.isdir(path):
        return True
    return 'arr_0' in _npz_keys(path)


def reference_dataset(path: str, find_deep: bool = False) -> Dataset:
    """Dataset of uint8 (3, H, W) reference images from a folder or ``.npz``.

    Args:
        path: folder of images, or ``.npz`` with ``arr_0``.
        find_deep: search sub-folders of a folder as well.

    Raises:
        FileNotFoundError: ``path`` does not exist or the folder holds no image.
    """
    if osp.isdir(path):
        files = glob_samples_paths(path, find_deep, IMAGE_EXTENSIONS, verbose=False)
        if not files:
            raise FileNotFoundError(f'No {IMAGE_EXTENSIONS} image found in reference folder {path}')
        return ImagesPathDataset(files)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Reference {path} is neither a folder nor a file')
    return NpzImageDataset(path)


def load_reference_statistics(path: str, feature_extractor: str,
                              feature_layer: str) -> Optional[Dict[str, np.ndarray]]:
    """Read FID statistics ``mu`` (D,) and ``sigma`` (D, D) from an ``.npz``.

    Args:
        path: the reference; a folder or an ``.npz`` without ``mu`` gives None.
        feature_extractor, feature_layer: what the statistics must come from;
            checked against the file's ``feature_extractor`` / ``feature_layer``
            entries when present (files in the ADM format have none and are
            taken as Inception pool features).

    Returns:
        dict(mu=float64 (D,), sigma=float64 (D, D)) or None.

    Raises:
        ReferenceFileError: the file cannot be read, was made with another
            extractor or layer, its shapes are inconsistent, or it holds NaN or
            inf.
    """
    if osp.isdir(path):
        return None
    with open_npz(path) as data:
        if 'mu' not in data.files:
            return None
        for key, expected in (('feature_extractor', feature_extractor),
                              ('feature_layer', feature_layer)):
            if key in data.files and str(data[key]) != expected:
                raise ReferenceFileError(f'{path} holds statistics of {key}="{data[key]}", but '
                                         f'the metric uses "{expected}"')
        mu = np.asarray(data['mu'], dtype=np.float64)
        sigma = np.asarray(data['sigma'], dtype=np.float64)
        num_images = int(data['num_images']) if 'num_images' in data.files else None
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise ReferenceFileError(f'{path}: "mu" must be (D,) and "sigma" (D, D), got {mu.shape} '
                                 f'and {sigma.shape}')
    bad = [name for name, value in (('mu', mu), ('sigma', sigma)) if not np.isfinite(value).all()]
    if bad:
        raise ReferenceFileError(f'{path} holds NaN or inf in {" and ".join(bad)}: the FID '
                                 'statistics are unusable; make them again with '
                                 'tools/analysis_tools/make_fid_ref_stats.py')
    if num_images is not None:
        warn_few_images(path, num_images, mu.shape[0], 'reference statistics')
    return dict(mu=mu, sigma=sigma)


def save_reference_statistics(path: str,
                              mu: np.ndarray,
                              sigma: np.ndarray,
                              feature_extractor: str,
                              feature_layer: str,
                              num_images: int,
                              images: Optional[np.ndarray] = None,
                              provenance: Optional[Dict[str, Any]] = None) -> None:
    """Write FID statistics in the format :func:`load_reference_statistics` reads, atomically.

    Args:
        mu: (D,) feature mean. sigma: (D, D) feature covariance.
        feature_extractor, feature_layer: where the features came from.
        num_images: how many images the statistics summarise.
        images: optional uint8 (N, H, W, 3) images stored as ``arr_0`` (the ADM
            reference-batch layout), which precision/recall needs.
        provenance: what made the file (:mod:`sar_mm.evaluation.provenance`),
            stored as the JSON string ``provenance``.

    Raises:
        ReferenceFileError: ``mu`` or ``sigma`` hold NaN or inf.
    """
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ReferenceFileError(f'the statistics for {path} hold NaN or inf (features of '
                                 'broken images or weights?); nothing was written')
    arrays = dict(
        mu=mu,
        sigma=sigma,
        feature_extractor=np.array(feature_extractor),
        feature_layer=np.array(feature_layer),
        num_images=np.array(num_images))
    if images is not None:
        arrays['arr_0'] = images
    if provenance is not None:
        arrays['provenance'] = np.array(json.dumps(provenance))
    with atomic_write_file(path) as f:
        np.savez(f, **arrays)
