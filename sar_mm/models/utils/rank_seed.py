"""The seed of this process's private RNG: ``seed * world_size + rank``."""
from mmengine.dist import get_rank, get_world_size

__all__ = ['rank_seed']


def rank_seed(seed: int) -> int:
    """``seed * world_size + rank`` (docs/method.md §4.1, official ``seed_everything``), so every
    rank draws its own stream and a run with the same world size repeats it."""
    return seed * get_world_size() + get_rank()
