"""Training losses of scale-wise autoregressive generators and of their tokenizers."""
from .csf_loss import ContrastiveStudentForcingLoss
from .scale_ce_loss import (ScaleCrossEntropyLoss, per_scale_accuracy, scale_token_weights,
                            token_accuracy, token_cross_entropy, weighted_token_mean)
from .vq_loss import VQLoss, codebook_loss, commitment_loss, reconstruction_loss

__all__ = ['ContrastiveStudentForcingLoss', 'ScaleCrossEntropyLoss', 'VQLoss', 'codebook_loss',
           'commitment_loss', 'per_scale_accuracy', 'reconstruction_loss', 'scale_token_weights',
           'token_accuracy', 'token_cross_entropy', 'weighted_token_mean']
