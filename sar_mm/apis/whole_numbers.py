"""Class labels and seeds of a sampling or editing request, checked as whole numbers.

``torch.as_tensor(labels, dtype=torch.long)`` and ``int(seed)`` truncate: label
1.7 would silently draw class 1 and seeds 0.2 and 0.7 the same image. The
APIs take labels and seeds through these two functions, which refuse them.
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

__all__ = ['as_label_tensor', 'as_seed_list']


def _whole(values: torch.Tensor, what: str) -> torch.Tensor:
    """``values`` as int64; ``ValueError`` naming the values that are not whole numbers."""
    if values.dtype == torch.bool:
        raise ValueError(f'{what} must be whole numbers, got booleans {values.tolist()[:10]}')
    if values.dtype.is_floating_point:
        bad = values[~torch.isfinite(values) | (values != torch.round(values))]
        if bad.numel():
            raise ValueError(f'{what} must be whole numbers, got {bad.tolist()[:10]} (they '
                             'would be truncated)')
    return values.to(torch.long)


def as_label_tensor(labels: Union[int, Sequence[int], np.ndarray, torch.Tensor]) -> torch.Tensor:
    """Class ids as a (B,) int64 tensor; 1.0 is 1, 1.7 is refused.

    Raises:
        ValueError: a label that is not a whole number.
    """
    values = labels if torch.is_tensor(labels) else torch.as_tensor(np.asarray(labels))
    return _whole(values, 'class labels').view(-1)


def as_seed_list(seeds: Optional[Union[Sequence[int], np.ndarray, torch.Tensor]],
                 count: int, per: str = 'images') -> Optional[List[int]]:
    """One int seed for each of ``count`` ``per`` (``None`` stays ``None``).

    Raises:
        ValueError: a seed that is not a whole number, or not ``count`` of them.
    """
    if seeds is None:
        return None
    values = seeds if torch.is_tensor(seeds) else torch.as_tensor(np.asarray(seeds))
    seed_list = _whole(values, 'seeds').view(-1).tolist()
    if len(seed_list) != count:
        raise ValueError(f'got {len(seed_list)} seeds for {count} {per}')
    return seed_list
