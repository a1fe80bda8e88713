"""Writing an image file a user keeps: encoded first, then written atomically."""
import os.path as osp

import cv2
import numpy as np

from sar_mm.engine.atomic_local_backend import atomic_write_bytes
from .output_paths import check_output_path

__all__ = ['IMAGE_SUFFIXES', 'write_image_file']

#: suffixes the image is encoded for (by OpenCV)
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')


def write_image_file(rgb: np.ndarray, path: str, flag: str = '--out') -> None:
    """Encode ``rgb`` by the suffix of ``path`` and write it atomically.

    A write that is killed leaves the previous file (or none), never a
    truncated one.

    Args:
        rgb: uint8 (H, W, 3) image, RGB.
        path: the file; its suffix picks the format (:data:`IMAGE_SUFFIXES`).
        flag: the option that gave ``path``, for messages.

    Raises:
        ValueError: the suffix is not an image format.
        IsADirectoryError, PermissionError: ``path`` is a directory, or its
            directory is not writable.
    """
    suffix = osp.splitext(path)[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f'{flag} {path}: "{suffix or "no suffix"}" is not an image format; end '
                         f'the name with one of {", ".join(IMAGE_SUFFIXES)}')
    check_output_path(path, flag)
    encoded, data = cv2.imencode(suffix, np.ascontiguousarray(rgb[..., ::-1]))  # RGB -> BGR
    if not encoded:
        raise ValueError(f'{flag} {path}: OpenCV could not encode a {rgb.shape} image as {suffix}')
    atomic_write_bytes(data.tobytes(), path)
