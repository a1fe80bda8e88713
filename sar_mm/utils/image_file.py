"""Writing an image file a user keeps: encoded first, then written atomically."""
import argparse
import io
import os.path as osp

import numpy as np
from PIL import Image

from sar_mm.engine.atomic_local_backend import atomic_write_bytes
from .output_paths import check_output_path

__all__ = ['IMAGE_FORMATS', 'image_output_path', 'write_image_file']

#: suffix -> Pillow format the image is encoded in
IMAGE_FORMATS = {'.png': 'PNG', '.jpg': 'JPEG', '.jpeg': 'JPEG', '.bmp': 'BMP', '.webp': 'WEBP'}


def write_image_file(rgb: np.ndarray, path: str, flag: str = '--out') -> None:
    """Encode ``rgb`` by the suffix of ``path`` and write it atomically.

    A write that is killed leaves the previous file (or none), never a
    truncated one.

    Args:
        rgb: uint8 (H, W, 3) image, RGB.
        path: the file; its suffix picks the format (:data:`IMAGE_FORMATS`).
        flag: the option that gave ``path``, for messages.

    Raises:
        ValueError: the suffix is not an image format.
        IsADirectoryError, PermissionError: ``path`` is a directory, or its
            directory is not writable.
    """
    suffix = osp.splitext(path)[1].lower()
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f'{flag} {path}: "{suffix or "no suffix"}" is not an image format; end '
                         f'the name with one of {", ".join(IMAGE_FORMATS)}')
    check_output_path(path, flag)
    encoded = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(encoded, format=IMAGE_FORMATS[suffix])
    atomic_write_bytes(encoded.getvalue(), path)


def image_output_path(text: str) -> str:
    """``argparse`` type of a demo's ``--out``: a file with a suffix :func:`write_image_file`
    encodes, not a directory, checked before any work.

    Raises:
        argparse.ArgumentTypeError: a directory, or a suffix not in :data:`IMAGE_FORMATS`.
    """
    if osp.isdir(text):
        raise argparse.ArgumentTypeError(
            f'{text} is a directory: give a file name, e.g. {osp.join(text, "grid.png")}')
    if osp.splitext(text)[1].lower() not in IMAGE_FORMATS:
        raise argparse.ArgumentTypeError(
            f'{text} has no image suffix ({", ".join(IMAGE_FORMATS)}): the format follows the '
            'suffix, e.g. grid.png')
    return text
