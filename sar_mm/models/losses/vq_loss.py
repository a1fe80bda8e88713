"""Training loss of a vector-quantised autoencoder (VQ-VAE / LlamaGen VQ).

``L = w_rec * rec(x_hat, x) + w_cb * ||e - sg(z)||^2 + w_commit * ||sg(e) - z||^2``

* reconstruction: per-pixel squared (``'l2'``) or absolute (``'l1'``) error;
* codebook term (van den Oord et al. 2017, eq. 3, second term; LlamaGen
  ``VectorQuantizer.forward``): moves the selected code vectors ``e`` towards
  the (detached) encoder outputs ``z``;
* commitment term (same equation, third term; LlamaGen's ``beta = 0.25``):
  keeps the encoder outputs close to the (detached) codes.

With FlexVAR's L2-normalised codebook (``FlexVQVAE``) both ``z`` and ``e`` are
unit vectors, so the two terms are the squared chordal distance on the sphere.
The straight-through estimator itself lives in the model
(:class:`~sar_mm.models.generators.VQTokenizerTrainer`); this file only holds
the loss.
"""
from typing import Dict

import torch
import torch.nn as nn

from sar_mm.registry import LOSSES

__all__ = ['VQLoss', 'reconstruction_loss', 'codebook_loss', 'commitment_loss']

REC_LOSS_TYPES = ('l1', 'l2')


def reconstruction_loss(rec: torch.Tensor, target: torch.Tensor, kind: str = 'l2') -> torch.Tensor:
    """Mean per-element reconstruction error, computed in float32.

    Args:
        rec (Tensor): (B, 3, H, W) reconstruction.
        target (Tensor): (B, 3, H, W) input image.
        kind (str): ``'l2'`` (squared error) or ``'l1'`` (absolute error).

    Returns:
        Tensor: scalar.
    """
    if kind not in REC_LOSS_TYPES:
        raise ValueError(f'kind must be one of {REC_LOSS_TYPES}, got {kind!r}')
    diff = rec.float() - target.float()
    return diff.pow(2).mean() if kind == 'l2' else diff.abs().mean()


def codebook_loss(z: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """``mean((z_q - sg(z))^2)``: gradient reaches the codebook only.

    Args:
        z (Tensor): (B, C, h, w) encoder output (as fed to the quantiser).
        z_q (Tensor): (B, C, h, w) the selected code vectors (in the graph of
            the codebook, without straight-through).

    Returns:
        Tensor: scalar.
    """
    return (z_q.float() - z.detach().float()).pow(2).mean()


def commitment_loss(z: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """``mean((sg(z_q) - z)^2)``: gradient reaches the encoder only.

    Args:
        z (Tensor): (B, C, h, w) encoder output.
        z_q (Tensor): (B, C, h, w) the selected code vectors.

    Returns:
        Tensor: scalar.
    """
    return (z_q.detach().float() - z.float()).pow(2).mean()


@LOSSES.register_module()
class VQLoss(nn.Module):
    """Reconstruction + codebook + commitment loss of a VQ autoencoder.

    Returns the summed terms ``loss_rec``, ``loss_codebook`` and
    ``loss_commit`` (each already weighted).

    Args:
        rec_loss_type (str): ``'l2'`` or ``'l1'``.
        rec_weight (float): weight of the reconstruction term.
        codebook_weight (float): weight of the codebook term (1 in LlamaGen).
        commitment_weight (float): ``beta`` of the commitment term (0.25).
    """

    def __init__(self, rec_loss_type: str = 'l2', rec_weight: float = 1.0,
                 codebook_weight: float = 1.0, commitment_weight: float = 0.25) -> None:
        super().__init__()
        if rec_loss_type not in REC_LOSS_TYPES:
            raise ValueError(f'rec_loss_type must be one of {REC_LOSS_TYPES}, '
                             f'got {rec_loss_type!r}')
        self.rec_loss_type = rec_loss_type
        self.rec_weight = rec_weight
        self.codebook_weight = codebook_weight
        self.commitment_weight = commitment_weight

    def forward(self, rec: torch.Tensor, target: torch.Tensor, z: torch.Tensor,
                z_q: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Loss dict of one step.

        Args:
            rec (Tensor): (B, 3, H, W) reconstruction (decoded straight-through codes).
            target (Tensor): (B, 3, H, W) input image in [-1, 1].
            z (Tensor): (B, C, h, w) quantiser input.
            z_q (Tensor): (B, C, h, w) selected codes (codebook graph, no straight-through).
        """
        return dict(
            loss_rec=self.rec_weight * reconstruction_loss(rec, target, self.rec_loss_type),
            loss_codebook=self.codebook_weight * codebook_loss(z, z_q),
            loss_commit=self.commitment_weight * commitment_loss(z, z_q))
