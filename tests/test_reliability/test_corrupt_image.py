"""Scenario 4b: a corrupt JPEG names itself; with ``skip_corrupt`` it is skipped and counted.

Corruptions: a JPEG cut off mid-stream (an interrupted copy), one whose header
was zeroed after the start-of-image marker (a bad block) and a JPEG marker
followed by noise. (JPEG has no checksum: damage inside the entropy-coded data
can decode to wrong pixels without any error, and no loader can notice it.)
"""
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from PIL import Image
from torch.utils.data import DataLoader

from sar_mm.datasets import ImageNetDataset, UnreadableImageError

PIPELINE = [dict(type='LoadRGBImageFromFile'), dict(type='PackGeneratorInputs')]


def _jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, 'JPEG', quality=90)
    return buffer.getvalue()


def _truncated(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _zeroed_header(data: bytes) -> bytes:
    return data[:2] + bytes(64) + data[66:]


def _noise_after_header(data: bytes) -> bytes:
    return data[:4] + np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes()


def _image_root(tmp_path: Path, corrupt) -> Path:
    """train/<class>/*.JPEG: 5 good images and one corrupted one (class n001, 2nd file)."""
    for i, name in enumerate(['n000/a.JPEG', 'n000/b.JPEG', 'n001/c.JPEG', 'n001/d.JPEG',
                              'n001/e.JPEG', 'n001/f.JPEG']):
        path = tmp_path / 'train' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _jpeg(i)
        path.write_bytes(corrupt(data) if name == 'n001/d.JPEG' else data)
    return tmp_path


@pytest.fixture(params=[_truncated, _zeroed_header, _noise_after_header])
def image_root(request, tmp_path: Path) -> Path:
    return _image_root(tmp_path, request.param)


def _dataset(root: Path, skip_corrupt: bool) -> ImageNetDataset:
    return ImageNetDataset(data_root=str(root), data_prefix=dict(img_path='train'),
                           pipeline=PIPELINE, skip_corrupt=skip_corrupt)


def test_error_names_the_file(image_root: Path):
    dataset = _dataset(image_root, skip_corrupt=False)
    bad = str(image_root / 'train' / 'n001' / 'd.JPEG')
    with pytest.raises(UnreadableImageError, match=f'cannot read image {bad}'):
        dataset[3]


def test_data_loader_workers(tmp_path: Path):
    """The worker's error reaches the training process with the file name; skipping works there."""
    root = _image_root(tmp_path, _truncated)
    bad = str(root / 'train' / 'n001' / 'd.JPEG')
    loader = DataLoader(_dataset(root, skip_corrupt=False), batch_size=3, num_workers=1,
                        collate_fn=default_collate)
    with pytest.raises(UnreadableImageError, match=f'cannot read image {bad}'):
        list(loader)
    loader = DataLoader(_dataset(root, skip_corrupt=True), batch_size=3, num_workers=1,
                        collate_fn=default_collate)
    assert [b['inputs'].shape[0] for b in loader] == [3, 3]


def test_skip_policy_counts_and_loses_no_good_image(image_root: Path):
    dataset = _dataset(image_root, skip_corrupt=True)
    items = [dataset[i] for i in range(len(dataset))]
    assert dataset.num_skipped == 1
    # the corrupt item is replaced by the next image; every good image is still seen
    seen = [item['inputs'] for item in items]
    good = [_dataset(image_root, skip_corrupt=True)[i]['inputs'] for i in (0, 1, 2, 4, 5)]
    assert all(any(torch.equal(g, s) for s in seen) for g in good)
    assert torch.equal(seen[3], seen[4])  # index 3 (corrupt) gave the next image
