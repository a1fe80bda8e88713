"""tokenizers."""
from .msvq_vae import MultiScaleVQVAE
from .residual_quantizer import ResidualQuantizer
from .var_autoencoder import VARDecoder, VAREncoder

__all__ = ['MultiScaleVQVAE', 'ResidualQuantizer', 'VARDecoder', 'VAREncoder']
