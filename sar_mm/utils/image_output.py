"""The output image path of a demo, checked before any work is done."""
import argparse
import os.path as osp

__all__ = ['IMAGE_SUFFIXES', 'image_output_path']

#: suffixes OpenCV's encoder writes (``mmcv.imwrite`` picks the format by suffix)
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')


def image_output_path(text: str) -> str:
    """``argparse`` type of ``--out``: a file name with an image suffix, not a directory.

    Raises:
        argparse.ArgumentTypeError: a directory, or a suffix OpenCV cannot encode.
    """
    if osp.isdir(text):
        raise argparse.ArgumentTypeError(
            f'{text} is a directory: give a file name, e.g. {osp.join(text, "grid.png")}')
    if osp.splitext(text)[1].lower() not in IMAGE_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f'{text} has no image suffix ({", ".join(IMAGE_SUFFIXES)}): the format follows the '
            'suffix, e.g. grid.png')
    return text
