"""Folders of generated samples: one PNG per ``sample_idx``, and their ``.npz``.

The layout follows the FID sampling protocol of DiT's ``sample_ddp.py`` and
SAR's ``eval_c2i.py`` / ``img2npy.py`` (docs/method.md §6.2): every generated image
is written as ``{sample_idx:06d}.png`` (lossless), and the folder is packed
into ``arr_0`` uint8 (N, H, W, 3) ordered by ``sample_idx``, the input format of
the OpenAI (ADM) evaluator. Files are written atomically (temporary name, then
rename), so an interrupted run never leaves a truncated PNG that a resumed run
would take for finished.

A folder records what made its samples in ``sar_mm_samples.json``
(:mod:`sar_mm.evaluation.provenance`): :func:`prepare_sample_folder` lets a
rerun resume only with the same checkpoint and settings.
"""
import json
import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from sar_mm.engine.atomic_local_backend import atomic_write_bytes, atomic_write_file
from sar_mm.utils.output_paths import check_output_path
from .provenance import (SAMPLE_FOLDER_RECORD, OutputConflictError, provenance_differences,
                         read_recorded_provenance)

__all__ = [
    'SampleFolderDataset', 'sample_image_path', 'list_sample_indices', 'write_sample_image',
    'pack_sample_folder', 'prepare_sample_folder'
]

_SAMPLE_NAME = re.compile(r'^(\d+)\.png$')


def sample_image_path(root: str, sample_idx: int) -> str:
    """``root/{sample_idx:06d}.png``."""
    return osp.join(root, f'{sample_idx:06d}.png')


def list_sample_indices(root: str) -> List[int]:
    """Sorted ``sample_idx`` values of the finished PNGs in ``root`` ([] if absent)."""
    if not osp.isdir(root):
        return []
    found = (_SAMPLE_NAME.match(name) for name in os.listdir(root))
    return sorted(int(match.group(1)) for match in found if match)


def prepare_sample_folder(root: str, provenance: Dict[str, Any], overwrite: bool = False) -> None:
    """Check that ``root`` may take samples of ``provenance``, then record it there.

    A new or empty folder, or one whose record matches (same checkpoint digest
    and settings: a resumed run), is accepted. With ``overwrite`` the folder's
    samples and record are deleted first.

    Raises:
        NotADirectoryError, PermissionError: ``root`` is a file, or cannot be
            written.
        OutputConflictError: the folder holds samples of other settings, or
            samples without a record; the message names the differences, a new
            folder and ``--overwrite``.
    """
    if osp.exists(root) and not osp.isdir(root):
        raise NotADirectoryError(f'--save-dir {root} is a file, not a folder; give a folder path')
    record_path = osp.join(root, SAMPLE_FOLDER_RECORD)
    check_output_path(record_path, '--save-dir')
    if overwrite:
        for sample_idx in list_sample_indices(root):
            os.remove(sample_image_path(root, sample_idx))
        if osp.exists(record_path):
            os.remove(record_path)
    recorded = read_recorded_provenance(record_path) if osp.exists(record_path) else None
    num_samples = len(list_sample_indices(root))
    if recorded is None and num_samples:
        raise OutputConflictError(
            f'--save-dir {root} holds {num_samples} samples without a record of their settings '
            f'({SAMPLE_FOLDER_RECORD}); give a new folder, or pass --overwrite to delete them')
    if recorded is not None:
        differences = provenance_differences(recorded, provenance)
        if differences:
            raise OutputConflictError(
                f'--save-dir {root} holds {num_samples} samples of other settings '
                f'({"; ".join(differences)}); give a new folder, or pass --overwrite to delete '
                'them')
    atomic_write_bytes(json.dumps(provenance, indent=1).encode(), record_path)


def write_sample_image(root: str, sample_idx: int, image: torch.Tensor) -> bool:
    """Write one sample unless its PNG exists already.

    Args:
        root: output folder (created if missing).
        sample_idx: the sample's global index.
        image (Tensor): uint8 (3, H, W).

    Returns:
        True if the file was written, False if it was present.
    """
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise TypeError(f'Expected a uint8 (3, H, W) image, got {image.dtype} {tuple(image.shape)}')
    path = sample_image_path(root, sample_idx)
    if osp.exists(path):
        return False
    # ranks may write the same padded index at once: each writes its own partial file
    with atomic_write_file(path, writer_tag=str(os.getpid())) as f:
        # (3, H, W) -> (H, W, 3)
        Image.fromarray(image.permute(1, 2, 0).cpu().numpy()).save(f, format='PNG')
    return True


class SampleFolderDataset(Dataset):
    """Generated samples read back from a folder, shaped like model outputs.

    Items are ``dict(fake_img=uint8 (3, H, W), sample_idx=int)``, the format of
    ``ScaleWiseAR.predict``, so metrics run unchanged on a finished folder.

    Args:
        root: the folder.
        indices: the ``sample_idx`` values to read; each PNG must exist.
    """

    def __init__(self, root: str, indices: Sequence[int]) -> None:
        self.root = root
        self.indices = [int(i) for i in indices]
        missing = [i for i in self.indices if not osp.isfile(sample_image_path(root, i))]
        if missing:
            raise FileNotFoundError(f'{len(missing)} samples missing in {root}, e.g. '
                                    f'{sample_image_path(root, missing[0])}')

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        sample_idx = self.indices[index]
        with Image.open(sample_image_path(self.root, sample_idx)) as img:
            array = np.asarray(img.convert('RGB'))
        # (H, W, 3) -> (3, H, W)
        return dict(fake_img=torch.from_numpy(array.copy()).permute(2, 0, 1), sample_idx=sample_idx)


def pack_sample_folder(root: str, out_path: str, indices: Sequence[int],
                       provenance: Optional[Dict[str, Any]] = None) -> tuple:
    """Pack PNGs into an ADM-evaluator ``.npz`` (``arr_0``), ordered by index, atomically.

    The whole array is held in memory (50k x 256 x 256 x 3 is 9.8 GB).

    Args:
        root: the sample folder.
        out_path: the ``.npz`` to write.
        indices: the ``sample_idx`` values, packed in ascending order.
        provenance: what made the samples, stored as the JSON string
            ``provenance`` (see :mod:`sar_mm.evaluation.provenance`).

    Returns:
        The shape of ``arr_0``: (N, H, W, 3).
    """
    dataset = SampleFolderDataset(root, sorted(indices))
    first = dataset[0]['fake_img']
    arr = np.empty((len(dataset), first.shape[1], first.shape[2], 3), dtype=np.uint8)
    for i in range(len(dataset)):
        arr[i] = dataset[i]['fake_img'].permute(1, 2, 0).numpy()  # (3, H, W) -> (H, W, 3)
    with atomic_write_file(out_path) as f:
        extra = {} if provenance is None else dict(provenance=np.array(json.dumps(provenance)))
        np.savez(f, arr_0=arr, **extra)
    return arr.shape
