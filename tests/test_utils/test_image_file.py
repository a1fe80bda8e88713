"""The demos' image output: the --out check accepts exactly the suffixes the writer encodes."""
import argparse

import numpy as np
import pytest

from sar_mm.utils.image_file import IMAGE_FORMATS, image_output_path, write_image_file


@pytest.mark.parametrize('suffix', sorted(IMAGE_FORMATS))
def test_every_accepted_suffix_is_written(tmp_path, suffix):
    path = str(tmp_path / f'grid{suffix}')
    assert image_output_path(path) == path
    write_image_file(np.zeros((4, 4, 3), np.uint8), path)
    assert (tmp_path / f'grid{suffix}').stat().st_size > 0


@pytest.mark.parametrize('name', ['grid.tif', 'grid.tiff', 'grid.txt', 'grid'])
def test_a_suffix_the_writer_cannot_encode_is_refused_up_front(tmp_path, name):
    with pytest.raises(argparse.ArgumentTypeError, match='has no image suffix'):
        image_output_path(str(tmp_path / name))


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(argparse.ArgumentTypeError, match='is a directory'):
        image_output_path(str(tmp_path))
