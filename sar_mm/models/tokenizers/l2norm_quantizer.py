"""L2-normalised nearest-code quantiser of LlamaGen / FlexVAR.

FlexVAR ``models/vq_llama.py: VectorQuantizer`` with ``codebook_l2_norm=True``
(docs/method.md §7.15): latent vectors and codebook rows are L2-normalised,
the code is ``argmin(|z|^2 + |e|^2 - 2 z.e)`` (cosine similarity, in the official
order of operations so that near-ties resolve identically), and the vector used
for a code everywhere is the **normalised** codebook row.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['nearest_code_l2norm', 'L2NormQuantizer']


def nearest_code_l2norm(z_NC: torch.Tensor, codebook_VC: torch.Tensor) -> torch.Tensor:
    """Index of the nearest normalised code for every normalised vector.

    Args:
        z_NC (Tensor): (N, C) vectors (normalised inside).
        codebook_VC (Tensor): (V, C) codebook rows (normalised inside).

    Returns:
        Tensor: (N,) int64 indices.
    """
    z = F.normalize(z_NC, p=2, dim=-1)
    e = F.normalize(codebook_VC, p=2, dim=-1)
    dist = z.pow(2).sum(dim=1, keepdim=True) + e.pow(2).sum(dim=1) - 2 * (z @ e.t())  # (N, V)
    return dist.argmin(dim=1)


class L2NormQuantizer(nn.Module):
    """Codebook with L2-normalised lookup.

    Args:
        vocab_size (int): number of codes ``V``.
        embed_dim (int): code dimension ``Cvae``.
        usage_buffer_size (int): length of ``codebook_used``, the official
            training-time usage statistics (the indices of the last codes drawn).
            sar_mm never updates it (the tokenizer is frozen); it is kept as a
            persistent buffer only so that converted checkpoints round-trip
            completely.
    """

    def __init__(self, vocab_size: int = 8912, embed_dim: int = 32,
                 usage_buffer_size: int = 65536) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        with torch.no_grad():
            self.embedding.weight.uniform_(-1.0 / vocab_size, 1.0 / vocab_size)
            self.embedding.weight.copy_(F.normalize(self.embedding.weight, p=2, dim=-1))
        self.register_buffer('codebook_used', torch.zeros(usage_buffer_size))

    def normalized_codebook(self) -> torch.Tensor:
        """Returns the (V, Cvae) L2-normalised codebook."""
        return F.normalize(self.embedding.weight, p=2, dim=-1)

    def quantize(self, z_BChw: torch.Tensor) -> torch.Tensor:
        """Nearest normalised code of every latent cell.

        Args:
            z_BChw (Tensor): (B, Cvae, h, w) continuous latent.

        Returns:
            Tensor: (B, h * w) int64 indices, row-major.
        """
        B, C, h, w = z_BChw.shape
        z_NC = z_BChw.permute(0, 2, 3, 1).reshape(B * h * w, C)  # (B*h*w, C), row-major cells
        return nearest_code_l2norm(z_NC, self.embedding.weight).view(B, h * w)

    def lookup(self, idx_Bl: torch.Tensor, side: int) -> torch.Tensor:
        """Normalised code map of a square token map.

        Args:
            idx_Bl (Tensor): (B, side * side) indices, row-major.
            side (int): side length of the map.

        Returns:
            Tensor: (B, Cvae, side, side).
        """
        B = idx_Bl.shape[0]
        codes = self.normalized_codebook()[idx_Bl]  # (B, side*side, Cvae)
        return codes.view(B, side, side, -1).permute(0, 3, 1, 2)  # (B, Cvae, side, side)
