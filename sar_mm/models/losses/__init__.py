"""Training losses of scale-wise autoregressive generators."""
from .csf_loss import ContrastiveStudentForcingLoss
from .scale_ce_loss import (ScaleCrossEntropyLoss, per_scale_accuracy, scale_token_weights,
                            token_accuracy, token_cross_entropy, weighted_token_mean)

__all__ = ['ContrastiveStudentForcingLoss', 'ScaleCrossEntropyLoss', 'per_scale_accuracy',
           'scale_token_weights', 'token_accuracy', 'token_cross_entropy', 'weighted_token_mean']
