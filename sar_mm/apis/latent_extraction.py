"""Encode an image dataset once with a frozen tokenizer (``tools/extract_latents.py``).

The file this writes is what :class:`~sar_mm.datasets.LatentDataset` serves;
its layout is documented there. Training on it equals training on the images
whenever the image pipeline's only randomness is a horizontal flip, because
the latent of each image and of its mirror image are both stored.
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import default_collate

from sar_mm.datasets.latent_dataset import LATENT_VIEWS
from sar_mm.datasets.latent_provenance import tokenizer_digest
from sar_mm.models.data_preprocessors import to_symmetric_range
from sar_mm.registry import DATASETS
from sar_mm.utils.checkpoint_io import (CheckpointMismatchError, load_state_dict_checked,
                                        read_state_dict)

__all__ = ['latent_source_config', 'extract_latents', 'save_latent_file',
           'load_tokenizer_checkpoint', 'tokenizer_digest']

# Transforms of an image pipeline that are deterministic, and so can be run once.
_DETERMINISTIC = ('LoadRGBImageFromFile', 'PackGeneratorInputs')


def latent_source_config(dataset_cfg: dict) -> Tuple[dict, List[dict], bool]:
    """Split an image dataset config into what latents can be cached for.

    Args:
        dataset_cfg (dict): an image dataset config with its ``pipeline``, or a
            ``LatentDataset`` config, whose ``source`` is then used.

    Returns:
        tuple: the source config without ``pipeline`` (as recorded in the latent
        file), the deterministic pipeline to encode its images with, and whether
        the original pipeline flips horizontally at random.

    Raises:
        ValueError: a ``LatentDataset`` without ``source``, or a pipeline with
            randomness other than a horizontal flip (e.g. random crops), whose
            results a fixed set of latents cannot represent.
    """
    cfg = copy.deepcopy(dict(dataset_cfg))
    if cfg.get('type') == 'LatentDataset':
        if not cfg.get('source'):
            raise ValueError('the LatentDataset config has no `source`: give the image dataset '
                             'the latents are extracted from')
        cfg = copy.deepcopy(dict(cfg['source']))
    pipeline = [dict(t) for t in cfg.pop('pipeline', [])]
    kept, hflip = [], False
    for transform in pipeline:
        kind = transform.get('type')
        if kind == 'RandomFlip' and transform.get('direction', 'horizontal') == 'horizontal':
            hflip = True
        elif kind in _DETERMINISTIC:
            kept.append(transform)
        else:
            raise ValueError(
                f'cannot cache latents for a pipeline with {kind}: only {list(_DETERMINISTIC)} '
                'and a horizontal RandomFlip give a fixed set of images per sample')
    if not kept or kept[-1].get('type') != 'PackGeneratorInputs':
        kept.append(dict(type='PackGeneratorInputs'))
    return cfg, kept, hflip


def load_tokenizer_checkpoint(tokenizer: torch.nn.Module, checkpoint: str,
                              trust_checkpoint: bool = False) -> None:
    """Load a tokenizer's weights from a generator or tokenizer-training checkpoint.

    Takes the ``tokenizer.*`` entries of the checkpoint's state dict (a
    ``ScaleWiseAR`` or ``VQTokenizerTrainer`` checkpoint), with every key and
    shape checked.

    Raises:
        CheckpointMismatchError: no ``tokenizer.*`` entries, or entries that do
            not fit (missing / unexpected keys, shapes).
        FileNotFoundError, CheckpointReadError: see :mod:`sar_mm.utils.checkpoint_io`.
    """
    state_dict = read_state_dict(checkpoint, trust_checkpoint)
    prefix = 'tokenizer.'
    entries = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not entries:
        raise CheckpointMismatchError(f'{checkpoint} has no {prefix}* entries; expected a '
                                      'sar_mm generator or tokenizer-training checkpoint')
    load_state_dict_checked(tokenizer, entries, checkpoint, 'tokenizer')


@torch.no_grad()
def extract_latents(tokenizer: torch.nn.Module, source: dict, pipeline: Sequence[dict],
                    hflip: bool = True, batch_size: int = 64,
                    device: str = 'cpu') -> Dict[str, np.ndarray]:
    """Latents of every image of a dataset, and of its mirror image.

    Args:
        tokenizer (nn.Module): a frozen tokenizer with ``encode_latent``.
        source (dict): image dataset config without ``pipeline``.
        pipeline (Sequence[dict]): deterministic transforms ending in
            ``PackGeneratorInputs`` (see :func:`latent_source_config`).
        hflip (bool): also encode the horizontally mirrored images.
        batch_size (int): images per encoder call.
        device (str): where the encoder runs.

    Returns:
        dict: ``latents`` float32 (N, V, Cvae, h, w), ``labels`` int64 (N,),
        ``views`` the first ``V`` of :data:`LATENT_VIEWS`.

    Raises:
        ValueError: images of different sizes (naming one of each), which one
            array of latents cannot hold.
    """
    if batch_size < 1:
        raise ValueError(f'batch_size must be positive, got {batch_size}')
    dataset = DATASETS.build(dict(source, pipeline=list(pipeline)))
    tokenizer = tokenizer.to(device).eval()
    views = LATENT_VIEWS[:2 if hflip else 1]
    latents, labels = [], []
    first = None  # (image path, (H, W)) of the first image
    for start in range(0, len(dataset), batch_size):
        indices = range(start, min(start + batch_size, len(dataset)))
        items = [dataset[i] for i in indices]
        for index, item in zip(indices, items):
            size = tuple(item['inputs'].shape[-2:])
            first = first or (_image_path(dataset, index), size)
            if size != first[1]:
                raise ValueError(
                    f'{_image_path(dataset, index)} is {size[1]}x{size[0]} px but {first[0]} is '
                    f'{first[1][1]}x{first[1][0]}: latents are cached at one size; resize the '
                    'images to one size first')
        batch = default_collate(items)
        images = to_symmetric_range(batch['inputs']).to(device)  # (b, 3, H, W)
        with torch.autocast(images.device.type, enabled=False):
            per_view = [tokenizer.encode_latent(images)]
            if hflip:
                per_view.append(tokenizer.encode_latent(images.flip(-1)))
        latents.append(torch.stack(per_view, dim=1).float().cpu().numpy())  # (b, V, C, h, w)
        labels.append(batch['data_samples']['labels'].long().numpy())
    return dict(latents=np.concatenate(latents), labels=np.concatenate(labels),
                views=np.array(views))


def _image_path(dataset, index: int) -> str:
    """The file of item ``index`` (``image INDEX`` for a dataset without files)."""
    info = dataset.get_data_info(index) if hasattr(dataset, 'get_data_info') else {}
    return info.get('img_path', f'image {index}')


def save_latent_file(path: str, content: Dict[str, np.ndarray], meta: Optional[dict]) -> None:
    """Write :func:`extract_latents`'s output and ``meta`` (JSON) atomically to ``path``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    partial = f'{path}.partial.npz'
    np.savez(partial, latents=content['latents'], labels=content['labels'],
             views=content['views'], meta=np.array(json.dumps(meta or {}, default=str)))
    os.replace(partial, path)
