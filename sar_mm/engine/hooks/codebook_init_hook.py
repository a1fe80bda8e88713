"""Initialise a codebook from encoder outputs before the first training iteration.

Before iteration 0, the first training batch is encoded and matched (no
gradient, no optimizer step) and every codebook row is replaced by a vector the
codes were matched against: k-means centroids (``method='kmeans'``, spherical
for ``FlexVQVAE``'s L2-normalised codebook) or sampled vectors
(``method='sample'``). For VAR's residual quantiser the vectors of every scale
are pooled, since one codebook serves them all. A resumed run (iteration > 0)
keeps the checkpoint's codebook; the draws come from a generator seeded with
``seed``, so the global random streams are untouched. With several ranks the
codebook of rank 0 is broadcast.
"""
import torch
from mmengine.dist import broadcast
from mmengine.hooks import Hook
from mmengine.logging import print_log

from sar_mm.models.tokenizers.codebook_seeding import kmeans_codes
from sar_mm.registry import HOOKS
from .tokenizer_training import tokenizer_trainer

__all__ = ['CodebookInitHook']

METHODS = ('kmeans', 'sample')


@HOOKS.register_module()
class CodebookInitHook(Hook):
    """Replace the codebook by encoder outputs of the first batch.

    Args:
        method (str): ``'kmeans'`` or ``'sample'``.
        kmeans_iters (int): Lloyd iterations of ``'kmeans'``.
        seed (int): seed of the draws.
    """

    priority = 'NORMAL'

    def __init__(self, method: str = 'kmeans', kmeans_iters: int = 10, seed: int = 0) -> None:
        if method not in METHODS:
            raise ValueError(f'method must be one of {METHODS}, got {method!r}')
        if kmeans_iters < 0:
            raise ValueError(f'kmeans_iters must be >= 0, got {kmeans_iters}')
        self.method = method
        self.kmeans_iters = kmeans_iters if method == 'kmeans' else 0
        self.seed = seed

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if runner.iter != 0:
            return
        model = tokenizer_trainer(runner, type(self).__name__)
        inputs = model.data_preprocessor(data_batch, True)['inputs']
        _, vectors = model.match_codes(inputs)
        vectors = torch.cat(vectors)
        generator = torch.Generator().manual_seed(self.seed)
        weight = model.codebook.weight
        codes = kmeans_codes(vectors, weight.shape[0], self.kmeans_iters, generator,
                             spherical=model.codebook_l2_normalized)
        with torch.no_grad():
            weight.copy_(codes.to(weight.dtype))
            broadcast(weight.data, src=0)
        print_log(f'CodebookInitHook: {weight.shape[0]} codes from {vectors.shape[0]} encoder '
                  f'vectors ({self.method})', logger='current')
