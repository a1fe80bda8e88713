"""Precomputed latents of a frozen tokenizer, as a training dataset.

A scale-wise AR generator never trains its tokenizer, yet every training step
would run the tokenizer's encoder on the batch. :func:`sar_mm.apis.extract_latents`
(``tools/extract_latents.py``) runs it once per image and view instead and
writes an ``.npz`` file; :class:`LatentDataset` serves it, and
``ScaleWiseAR`` quantises the latents of every step's schedule itself
(``tokenizer.latent_to_idx``: FlexVAR's per-scale area pooling, VAR's residual
quantisation), so the token maps equal those of the images. This is the
pre-extraction of LlamaGen's ``extract_codes_c2i.py`` and DiT's
``extract_features.py``, kept before quantisation because FlexVAR draws a new
schedule at every step.

Exact only for pipelines whose randomness is a horizontal flip: the file holds
the latent of every image as is and of its mirror image, and
:class:`~sar_mm.datasets.transforms.RandomLatentFlip` picks one with the
probability ``RandomFlip`` would have used. Random crops cannot be cached this
way, and extraction refuses them.

File layout (``np.savez``): ``latents`` float32 (N, V, Cvae, h, w) with views
``V`` named by ``views`` (``'identity'``, then ``'hflip'`` when extracted),
``labels`` int64 (N,), ``meta`` a JSON string (``source``: the image dataset
config; ``tokenizer``: its config; ``checkpoint``; ``tokenizer_sha256``: a
digest of the tokenizer weights).
"""
import json
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from sar_mm.registry import DATASETS

__all__ = ['LatentDataset', 'LATENT_VIEWS', 'read_latent_file']

#: view names, in file order: the image as is and its horizontal mirror.
LATENT_VIEWS = ('identity', 'hflip')


def _normalised(cfg: Optional[dict]) -> Optional[str]:
    """A config dict as canonical JSON (for comparison); ``None`` stays ``None``."""
    return None if cfg is None else json.dumps(cfg, sort_keys=True, default=str)


def read_latent_file(latent_file: str) -> dict:
    """Load and check a latent file.

    Returns:
        dict: ``latents`` float32 (N, V, Cvae, h, w), ``labels`` int64 (N,),
        ``views`` tuple of str, ``meta`` dict.

    Raises:
        FileNotFoundError: no such file (with the command that writes it).
        ValueError: a file without the expected arrays or with inconsistent shapes.
    """
    if not osp.isfile(latent_file):
        raise FileNotFoundError(
            f'latent file {latent_file} not found; write it with '
            '`python tools/extract_latents.py CONFIG TOKENIZER_CHECKPOINT --out '
            f'{latent_file}` (tools/run_toy.py does this for the toy configs)')
    with np.load(latent_file, allow_pickle=False) as data:
        missing = sorted({'latents', 'labels', 'views', 'meta'} - set(data.files))
        if missing:
            raise ValueError(f'{latent_file} is not a latent file: arrays {missing} are missing '
                             f'(it has {sorted(data.files)})')
        latents, labels = data['latents'], data['labels']
        views, meta = tuple(str(v) for v in data['views']), json.loads(str(data['meta']))
    if latents.ndim != 5 or latents.shape[1] != len(views) or labels.shape != latents.shape[:1]:
        raise ValueError(f'{latent_file}: latents {latents.shape}, labels {labels.shape} and '
                         f'views {views} do not fit (expected (N, V, C, h, w), (N,), V names)')
    if views != LATENT_VIEWS[:len(views)]:
        raise ValueError(f'{latent_file}: views {views}, expected {LATENT_VIEWS} or a prefix')
    return dict(latents=latents.astype(np.float32, copy=False),
                labels=labels.astype(np.int64, copy=False), views=views, meta=meta)


@DATASETS.register_module()
class LatentDataset(BaseDataset):
    """Tokenizer latents of an image dataset, read from a latent file.

    Items are what the pipeline makes of ``dict(latent=float32 (Cvae, h, w),
    latent_hflip=float32 (Cvae, h, w) (when extracted), gt_label=int,
    sample_idx=int)``; the usual pipeline is ``RandomLatentFlip`` then
    ``PackLatentInputs``.

    Args:
        latent_file (str): the ``.npz`` of :func:`sar_mm.apis.extract_latents`.
        source (dict, optional): config of the image dataset the latents must
            come from (the one ``tools/extract_latents.py`` encodes). When
            given, it must equal the file's recorded source, so that a file
            extracted from other images (another seed or size) is refused
            instead of silently used. Its ``pipeline`` is not part of it.
        pipeline (Sequence[dict | Callable]): the transforms.
        test_mode (bool), lazy_init (bool), indices (int | Sequence[int], optional):
            as for ``mmengine.dataset.BaseDataset`` (``indices=N`` keeps the
            first ``N`` samples).
    """

    def __init__(self,
                 latent_file: str,
                 source: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None) -> None:
        self.latent_file = latent_file
        self.source = None if source is None else dict(source)
        super().__init__(pipeline=list(pipeline), test_mode=test_mode, lazy_init=lazy_init,
                         indices=indices, serialize_data=False)

    def load_data_list(self) -> List[dict]:
        content = read_latent_file(self.latent_file)
        recorded = content['meta'].get('source')
        if self.source is not None and _normalised(self.source) != _normalised(recorded):
            raise ValueError(
                f'{self.latent_file} was extracted from {recorded}, but this dataset expects '
                f'latents of {self.source}; extract it again with tools/extract_latents.py')
        self.latents, self.views = content['latents'], content['views']
        self.meta = content['meta']
        return [dict(index=i, gt_label=int(label)) for i, label in enumerate(content['labels'])]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        for v, view in enumerate(self.views):
            info['latent' if view == 'identity' else f'latent_{view}'] = \
                self.latents[info['index'], v]
        return info
