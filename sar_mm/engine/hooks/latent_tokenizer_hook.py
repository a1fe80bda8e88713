"""Refuse to train on latents that another tokenizer encoded."""
from typing import Iterator

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from sar_mm.datasets.latent_dataset import LatentDataset
from sar_mm.datasets.latent_provenance import check_latent_tokenizer
from sar_mm.registry import HOOKS

__all__ = ['LatentTokenizerHook']


def _latent_datasets(dataset) -> Iterator[LatentDataset]:
    """The ``LatentDataset`` s of a dataset and of its wrappers (repeat, concat)."""
    if isinstance(dataset, LatentDataset):
        yield dataset
    for inner in getattr(dataset, 'datasets', None) or [getattr(dataset, 'dataset', None)]:
        if inner is not None:
            yield from _latent_datasets(inner)


@HOOKS.register_module()
class LatentTokenizerHook(Hook):
    """Before training, compare each latent file's tokenizer digest with the model's tokenizer.

    A :class:`~sar_mm.datasets.LatentDataset` serves latents that
    ``tools/extract_latents.py`` encoded with one tokenizer and recorded as
    ``meta['tokenizer_sha256']``; the model quantises and decodes them with its
    own. The check runs at ``before_train``, once ``load_from`` or a resumed
    checkpoint has set the tokenizer's weights, and raises ``ValueError`` naming
    both digests, the latent file and the checkpoints (see
    :func:`sar_mm.datasets.latent_provenance.check_latent_tokenizer`). Training
    on images is not affected.
    """

    priority = 'VERY_HIGH'  # before any other hook spends time

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        tokenizer = getattr(model, 'tokenizer', None)
        if tokenizer is None:
            return
        for dataset in _latent_datasets(runner.train_dataloader.dataset):
            check_latent_tokenizer(dataset.latent_file, dataset.meta, tokenizer,
                                   getattr(runner, '_load_from', None))
