"""ImageNet-style class-conditional image dataset (docs/method.md §4.2).

Two layouts:

- list file (the official FlexVAR / SAR layout): ``{data_root}/{ann_file}``
  (``train.txt``) with one ``relative/path label`` line per image; paths are
  relative to ``data_prefix['img_path']`` (``{data_root}/train``);
- class folders (``ann_file=''``): ``{img_path}/{class_name}/{image}``; labels
  are the indices of the sorted folder names (torchvision ``ImageFolder``). A
  folder without images is refused, as torchvision refuses it: as a class it
  would take a label no image has, and shift the labels of the folders after it.
"""
import logging
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from sar_mm.registry import DATASETS
from .errors import UnreadableImageError

__all__ = ['ImageNetDataset', 'IMG_EXTENSIONS']

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class ImageNetDataset(BaseDataset):
    """Images with integer class labels, from a list file or class folders.

    Each item is what the pipeline makes of
    ``dict(img_path=str, gt_label=int, sample_idx=int)``.

    Args:
        data_root (str): dataset root, joined to relative ``ann_file`` and
            ``data_prefix`` paths.
        ann_file (str): list file (``'train.txt'``); ``''`` for class folders.
        data_prefix (dict): ``dict(img_path=...)``, the image root.
        pipeline (Sequence[dict | Callable]): the transforms.
        skip_corrupt (bool): when an image cannot be read, ``False`` raises an
            error that names the file; ``True`` logs it, counts it in
            ``num_skipped`` (per process) and returns the next readable index
            (``idx + 1``, ``idx + 2``, ... modulo the length).
        test_mode (bool), lazy_init (bool), serialize_data (bool),
        indices (int | Sequence[int], optional), metainfo (dict, optional):
            as for ``mmengine.dataset.BaseDataset``.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 skip_corrupt: bool = False,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 serialize_data: bool = True,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 metainfo: Optional[dict] = None) -> None:
        self.skip_corrupt = skip_corrupt
        self.num_skipped = 0
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(img_path='') if data_prefix is None else dict(data_prefix),
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            serialize_data=serialize_data,
            indices=indices)

    def load_data_list(self) -> List[dict]:
        img_root = self.data_prefix['img_path']
        if self.ann_file:
            return self._load_list_file(self.ann_file, img_root)
        return self._scan_class_folders(img_root)

    @staticmethod
    def _load_list_file(ann_file: str, img_root: str) -> List[dict]:
        data_list = []
        with open(ann_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.rsplit(maxsplit=1)
                if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                    raise ValueError(f'{ann_file}:{line_no}: expected "relative/path label", '
                                     f'got {line!r}')
                data_list.append(dict(img_path=osp.join(img_root, parts[0]),
                                      gt_label=int(parts[1])))
        if not data_list:
            raise ValueError(f'{ann_file} lists no images')
        return data_list

    def _scan_class_folders(self, img_root: str) -> List[dict]:
        if not osp.isdir(img_root):
            raise FileNotFoundError(f'image folder {img_root} does not exist')
        classes = sorted(entry.name for entry in os.scandir(img_root) if entry.is_dir())
        data_list, empty = [], []
        for label, name in enumerate(classes):
            found = len(data_list)
            for dirpath, _, filenames in sorted(os.walk(osp.join(img_root, name))):
                for filename in sorted(filenames):
                    if filename.lower().endswith(IMG_EXTENSIONS):
                        data_list.append(dict(img_path=osp.join(dirpath, filename),
                                              gt_label=label))
            if len(data_list) == found:
                empty.append(name)
        if not data_list:
            raise ValueError(f'no images with extensions {IMG_EXTENSIONS} in class folders '
                             f'of {img_root}')
        if empty:
            raise ValueError(f'class folders without images in {img_root}: {empty[:10]} (of '
                             f'{len(classes)} folders); each folder is a class, so remove the '
                             'empty ones or add their images (extensions '
                             f'{", ".join(IMG_EXTENSIONS)})')
        self._metainfo.setdefault('classes', tuple(classes))
        return data_list

    def prepare_data(self, idx: int) -> dict:
        """Run the pipeline on item ``idx`` (see ``skip_corrupt``)."""
        if not self.skip_corrupt:
            return super().prepare_data(idx)
        first_error = None
        for offset in range(len(self)):
            try:
                return super().prepare_data((idx + offset) % len(self))
            except UnreadableImageError as error:
                self.num_skipped += 1
                first_error = first_error or error
                print_log(f'skipped {error} ({self.num_skipped} unreadable images skipped so far '
                          f'in this process)', logger='current', level=logging.WARNING)
        raise RuntimeError(f'no readable image in the dataset (first failure: {first_error})')
