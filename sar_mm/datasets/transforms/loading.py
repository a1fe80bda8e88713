"""Image loading that matches the official data path (docs/method.md §4.2).

FlexVAR reads images with torchvision's ``default_loader``: PIL,
``convert('RGB')``, no EXIF rotation. mmcv's ``LoadImageFromFile`` returns BGR,
applies the EXIF orientation with the Pillow backend and, with the OpenCV
backend, decodes truncated JPEGs silently; so sar_mm loads with Pillow itself
and reports every failure with the file name.
"""
import io
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine import fileio
from PIL import Image, ImageOps

from sar_mm.registry import TRANSFORMS
from ..errors import UnreadableImageError

__all__ = ['LoadRGBImageFromFile', 'read_rgb_image']


def read_rgb_image(filename: str, backend_args: Optional[dict] = None,
                   exif_transpose: bool = False) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3), like torchvision's loader.

    Raises:
        UnreadableImageError: missing, truncated or undecodable file.
    """
    try:
        content = fileio.get(filename, backend_args=backend_args)
        with Image.open(io.BytesIO(content)) as pil_image:
            if exif_transpose:
                pil_image = ImageOps.exif_transpose(pil_image)
            # ``convert`` decodes every byte, so truncated files fail here.
            return np.asarray(pil_image.convert('RGB'))
    except Exception as error:  # any failure of the backend or the decoder
        raise UnreadableImageError(filename, f'{type(error).__name__}: {error}') from error


@TRANSFORMS.register_module()
class LoadRGBImageFromFile(BaseTransform):
    """Load ``results['img_path']`` into ``results['img']`` (RGB uint8, (H, W, 3)).

    Adds ``img_shape`` and ``ori_shape`` (H, W).

    Args:
        backend_args (dict, optional): mmengine file backend arguments.
        exif_transpose (bool): apply the EXIF orientation (the official loader
            does not).
    """

    def __init__(self, backend_args: Optional[dict] = None, exif_transpose: bool = False) -> None:
        self.backend_args = backend_args
        self.exif_transpose = exif_transpose

    def transform(self, results: dict) -> dict:
        img = read_rgb_image(results['img_path'], self.backend_args, self.exif_transpose)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backend_args={self.backend_args}, '
                f'exif_transpose={self.exif_transpose})')
