"""tokenizers."""
from .flex_vqvae import FlexVQVAE
from .l2norm_quantizer import L2NormQuantizer
from .msvq_vae import MultiScaleVQVAE
from .residual_known_tokens import ResidualKnownTokens
from .residual_quantizer import ResidualQuantizer
from .var_autoencoder import VARDecoder, VAREncoder
from .vq16_decoder import VQ16Decoder
from .vq16_encoder import VQ16Encoder

__all__ = [
    'FlexVQVAE', 'L2NormQuantizer', 'VQ16Encoder', 'VQ16Decoder', 'MultiScaleVQVAE',
    'ResidualQuantizer', 'ResidualKnownTokens', 'VARDecoder', 'VAREncoder'
]
