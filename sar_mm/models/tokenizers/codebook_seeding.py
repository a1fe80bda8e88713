"""Codebook rows from encoder outputs: sampled vectors and k-means centroids.

Used to initialise a codebook before training (Jukebox / SoundStream-style
k-means initialisation) and to re-seed dead codes during training
(Dhariwal et al. 2020, Jukebox, section 3.2: random restarts). Every draw
comes from the ``torch.Generator`` the caller passes, never from the global
RNG. With an L2-normalised codebook (``FlexVQVAE``) the vectors are unit
vectors and the k-means is spherical (centroids renormalised).
"""
import torch
import torch.nn.functional as F

from .residual_quantizer import nearest_code_sqdist

__all__ = ['sample_rows', 'kmeans_codes']


def sample_rows(vectors: torch.Tensor, num: int, generator: torch.Generator) -> torch.Tensor:
    """``num`` rows of ``vectors``, distinct while there are enough.

    Args:
        vectors (Tensor): (N, C), N >= 1.
        num (int): rows wanted.
        generator: a CPU generator.

    Returns:
        Tensor: (num, C), a copy.
    """
    N = vectors.shape[0]
    if N == 0:
        raise ValueError('no encoder vectors to draw codebook rows from')
    if N >= num:
        rows = torch.randperm(N, generator=generator)[:num]
    else:
        rows = torch.randint(N, (num,), generator=generator)
    return vectors[rows.to(vectors.device)].clone()


def kmeans_codes(vectors: torch.Tensor, num_codes: int, iters: int,
                 generator: torch.Generator, spherical: bool) -> torch.Tensor:
    """Lloyd's k-means in float32, started from sampled vectors.

    A cluster that loses all its vectors keeps its previous centroid.

    Args:
        vectors (Tensor): (N, C) encoder outputs in the codebook's space.
        num_codes (int): ``V``.
        iters (int): Lloyd iterations (0: the sampled vectors).
        generator: a CPU generator (the starting centroids).
        spherical (bool): renormalise centroids to unit length after each update.

    Returns:
        Tensor: (V, C) float32 centroids.
    """
    vectors = vectors.float()
    centroids = sample_rows(vectors, num_codes, generator)
    for _ in range(iters):
        assign = nearest_code_sqdist(vectors, centroids)  # (N,)
        sums = torch.zeros_like(centroids).index_add_(0, assign, vectors)
        counts = torch.bincount(assign, minlength=num_codes)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None].float()
        if spherical:
            centroids = F.normalize(centroids, p=2, dim=-1)
    return centroids
