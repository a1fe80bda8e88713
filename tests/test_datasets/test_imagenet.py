"""ImageNetDataset: list-file and class-folder layouts, unreadable images."""
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from PIL import Image

from sar_mm.datasets import ImageNetDataset, UnreadableImageError

PACK = [dict(type='LoadRGBImageFromFile'), dict(type='PackGeneratorInputs')]


def _write(path: Path, colour, size=(12, 10), fmt='JPEG') -> None:
    """A solid RGB image (W x H = size)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new('RGB', size, colour).save(path, fmt, quality=95)


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    """train/<class>/<img>: 2 classes, JPEG and PNG, a non-image file to ignore."""
    _write(tmp_path / 'train' / 'n002' / 'b.png', (0, 0, 255), fmt='PNG')
    _write(tmp_path / 'train' / 'n001' / 'a1.JPEG', (255, 0, 0))
    _write(tmp_path / 'train' / 'n001' / 'a2.jpg', (250, 5, 0))
    (tmp_path / 'train' / 'n001' / 'notes.txt').write_text('not an image')
    return tmp_path


def test_class_folder_layout(folder_root: Path):
    ds = ImageNetDataset(data_root=str(folder_root), data_prefix=dict(img_path='train'),
                         pipeline=PACK)
    assert len(ds) == 3
    assert ds.metainfo['classes'] == ('n001', 'n002')
    labels = [ds.get_data_info(i)['gt_label'] for i in range(3)]
    paths = [Path(ds.get_data_info(i)['img_path']).name for i in range(3)]
    assert labels == [0, 0, 1]
    assert paths == ['a1.JPEG', 'a2.jpg', 'b.png']
    item = ds[2]
    assert item['inputs'].dtype == torch.uint8 and item['inputs'].shape == (3, 10, 12)
    # RGB order: the PNG is pure blue
    assert item['inputs'][:, 0, 0].tolist() == [0, 0, 255]
    assert item['data_samples'] == dict(labels=1)


def test_list_file_layout(tmp_path: Path):
    _write(tmp_path / 'train' / 'n9' / 'x.JPEG', (0, 255, 0))
    _write(tmp_path / 'train' / 'n9' / 'y y.png', (0, 0, 255), fmt='PNG')
    (tmp_path / 'train.txt').write_text('n9/x.JPEG 7\n\nn9/y y.png 3\n')
    ds = ImageNetDataset(data_root=str(tmp_path), ann_file='train.txt',
                         data_prefix=dict(img_path='train'), pipeline=PACK)
    assert len(ds) == 2
    assert ds.get_data_info(1)['img_path'] == str(tmp_path / 'train' / 'n9' / 'y y.png')
    batch = default_collate([ds[0], ds[1]])
    assert batch['inputs'].shape == (2, 3, 10, 12) and batch['inputs'].dtype == torch.uint8
    assert batch['data_samples']['labels'].tolist() == [7, 3]
    assert batch['data_samples']['labels'].dtype == torch.int64
    # JPEG is lossy, but a solid green stays green
    assert batch['inputs'][0, :, 5, 5].argmax().item() == 1


def test_malformed_list_file_names_the_line(tmp_path: Path):
    (tmp_path / 'train.txt').write_text('a.JPEG 1\nb.JPEG\n')
    with pytest.raises(ValueError, match=r'train.txt:2'):
        ImageNetDataset(data_root=str(tmp_path), ann_file='train.txt')


def _truncated_jpeg(path: Path) -> None:
    rng = np.random.default_rng(0)
    _write(path, (0, 0, 0))
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path, 'JPEG')
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.fixture
def corrupt_root(tmp_path: Path) -> Path:
    _write(tmp_path / 'train' / 'c' / 'good0.jpg', (10, 20, 30))
    _truncated_jpeg(tmp_path / 'train' / 'c' / 'bad1.jpg')
    _write(tmp_path / 'train' / 'c' / 'good2.jpg', (200, 100, 50))
    (tmp_path / 'train.txt').write_text('c/good0.jpg 0\nc/bad1.jpg 1\nc/good2.jpg 2\n')
    return tmp_path


def test_corrupt_image_raises_with_file_name(corrupt_root: Path):
    ds = ImageNetDataset(data_root=str(corrupt_root), ann_file='train.txt',
                         data_prefix=dict(img_path='train'), pipeline=PACK)
    ds[0]
    with pytest.raises(UnreadableImageError, match=r'bad1\.jpg') as info:
        ds[1]
    assert info.value.filename.endswith('bad1.jpg')
    assert 'truncated' in info.value.reason


def test_corrupt_image_skipped_deterministically(corrupt_root: Path, caplog):
    ds = ImageNetDataset(data_root=str(corrupt_root), ann_file='train.txt',
                         data_prefix=dict(img_path='train'), pipeline=PACK, skip_corrupt=True)
    with caplog.at_level(logging.WARNING):
        items = [ds[1] for _ in range(2)]
    # the next index (2) is returned, every time
    assert [item['data_samples']['labels'] for item in items] == [2, 2]
    assert ds.num_skipped == 2
    assert ds[0]['data_samples']['labels'] == 0 and ds.num_skipped == 2


def test_missing_file_raises_with_file_name(tmp_path: Path):
    (tmp_path / 'train.txt').write_text('gone.png 0\n')
    ds = ImageNetDataset(data_root=str(tmp_path), ann_file='train.txt', pipeline=PACK)
    with pytest.raises(UnreadableImageError, match='gone.png'):
        ds[0]
