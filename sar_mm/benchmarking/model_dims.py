"""Read the shapes that :mod:`~sar_mm.benchmarking.flop_count` needs off built modules."""
from typing import Optional

import torch.nn as nn

from sar_mm.models.tokenizers import FlexVQVAE
from .flop_count import TransformerDims, VQ16Dims

__all__ = ['transformer_dims', 'vq16_dims']


def transformer_dims(backbone: nn.Module) -> TransformerDims:
    """Shapes of a VAR / FlexVAR backbone (AdaLN blocks with ``attn``/``ffn``/``ada_lin``)."""
    block = backbone.blocks[0]
    return TransformerDims(
        embed_dim=backbone.embed_dim,
        depth=len(backbone.blocks),
        ffn_dim=block.ffn.fc1.out_features,
        vocab_size=backbone.head.out_features,
        cvae=backbone.word_embed.in_features,
        cond_dim=block.ada_lin[-1].in_features)


def vq16_dims(tokenizer: nn.Module) -> Optional[VQ16Dims]:
    """Shapes of a ``FlexVQVAE``; ``None`` for other tokenizers (no FLOP model)."""
    if not isinstance(tokenizer, FlexVQVAE):
        return None
    encoder = tokenizer.encoder
    ch = encoder.conv_in.out_channels
    return VQ16Dims(
        ch=ch,
        ch_mult=tuple(level.res[-1].conv2.out_channels // ch for level in encoder.conv_blocks),
        num_res_blocks=len(encoder.conv_blocks[0].res),
        z_channels=encoder.conv_out.out_channels,
        embed_dim=tokenizer.embed_dim,
        vocab_size=tokenizer.vocab_size,
        in_channels=encoder.conv_in.in_channels)
