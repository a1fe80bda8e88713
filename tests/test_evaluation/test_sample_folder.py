"""Sample folders: PNG per sample_idx, skip-existing writes, ADM npz packing."""
import numpy as np
import pytest
import torch

from sar_mm.evaluation import (SampleFolderDataset, SampleImageWriter, list_sample_indices,
                               pack_sample_folder, sample_image_path, write_sample_image)


def image(value: int) -> torch.Tensor:
    out = torch.full((3, 4, 5), value, dtype=torch.uint8)  # (3, H, W)
    out[1] = 255 - value  # channels differ, so a channel swap would show
    return out


def test_write_list_read_and_pack(tmp_path):
    root = str(tmp_path / 'samples')
    assert list_sample_indices(root) == []
    for idx in (12, 3, 1000000):
        assert write_sample_image(root, idx, image(idx % 256))
    assert sample_image_path(root, 3).endswith('000003.png')
    # an existing file is kept (sampler padding, resumed runs)
    assert not write_sample_image(root, 3, image(99))
    (tmp_path / 'samples' / '000004.png.123.tmp').write_bytes(b'partial')  # interrupted write
    (tmp_path / 'samples' / 'notes.txt').write_text('x')
    assert list_sample_indices(root) == [3, 12, 1000000]

    dataset = SampleFolderDataset(root, [12, 3])
    assert dataset[1]['sample_idx'] == 3
    assert torch.equal(dataset[1]['fake_img'], image(3))
    with pytest.raises(FileNotFoundError, match='000004.png'):
        SampleFolderDataset(root, [3, 4])

    shape = pack_sample_folder(root, str(tmp_path / 'out.npz'), [12, 1000000, 3])
    assert shape == (3, 4, 5, 3)
    with np.load(tmp_path / 'out.npz') as data:
        arr = data['arr_0']
    for row, idx in enumerate([3, 12, 1000000]):  # ascending sample_idx
        assert np.array_equal(arr[row], image(idx % 256).permute(1, 2, 0).numpy())


def test_sample_image_writer_metric(tmp_path):
    writer = SampleImageWriter(save_dir=str(tmp_path))
    writer.process(None, [dict(fake_img=image(1), sample_idx=0), dict(fake_img=image(2),
                                                                      sample_idx=1)])
    writer.process(None, [dict(fake_img=image(7), sample_idx=0)])  # a padded repeat
    assert writer.evaluate(3) == {'samples/num_samples': 2}
    assert list_sample_indices(str(tmp_path)) == [0, 1]
    with pytest.raises(TypeError, match='uint8'):
        writer.process(None, [dict(fake_img=image(1).float(), sample_idx=5)])
