"""Conversion of FlexVAR / SAR checkpoints into a sar_mm generator checkpoint.

Sources: a FlexVAR or SAR transformer (``FlexVARd*-epo*.pth``,
``SARd*-epo*.pth``: training checkpoints whose state dict is
``ckpt['trainer']['var_wo_ddp']``, or a flat state dict) and the tokenizer
``FlexVAE.pth`` (state dict under ``['model']``, or flat). sar_mm keeps every
official attribute name in :class:`~sar_mm.models.backbones.FlexVARTransformer`
and :class:`~sar_mm.models.tokenizers.FlexVQVAE`, so the rules are a prefix
(``backbone.`` / ``tokenizer.``) with one documented drop:

* ``attn_bias_for_masking``: the block-causal mask of whatever schedule the last
  training step used (docs/method.md §7.18); sar_mm builds masks per
  schedule and never stores them.

``quantize.codebook_used`` (the official codebook-usage statistics, a (65536,)
buffer) is **kept** as a persistent buffer of the quantiser, so the converted
state dict is complete and round-trips; sar_mm never reads or updates it.

The model hyper-parameters (depth, classes, vocabulary, widths, levels) are read
from the keys and shapes, and the result is checked key by key and shape by
shape against models built on the meta device. The files (both nestings, and
the training checkpoints' pickled ``args``) are read by
:func:`sar_mm.utils.checkpoint_io.read_state_dict`.
"""
import re
from typing import Any, Dict, List, Tuple

import torch
import torch.nn as nn

from sar_mm.models.backbones.flexvar_transformer import FlexVARTransformer
from sar_mm.models.tokenizers.flex_vqvae import FlexVQVAE
from sar_mm.utils.state_dict_conversion import (ConversionError, Rule, check_state_dict_matches,
                                                convert_state_dict)

from .transformer_rules import LINEAR, TRANSFORMER_RULES, require

__all__ = [
    'FLEXVAR_RULES', 'FLEXVAE_RULES', 'flexvar_kwargs_from_state_dict',
    'flexvae_kwargs_from_state_dict', 'check_flexvar_conversion', 'convert_flexvar_checkpoints'
]

#: Rules for a FlexVAR / SAR transformer state dict: exactly the shared transformer rules.
FLEXVAR_RULES: List[Rule] = list(TRANSFORMER_RULES)

#: Rules for ``FlexVAE.pth`` (LlamaGen VQ-16).
FLEXVAE_RULES: List[Rule] = [
    (rf'((?:encoder|decoder)\.(?:conv_in|conv_out|norm_out)\.{LINEAR})', r'tokenizer.\1'),
    (rf'((?:encoder|decoder)\.mid\.\d+\.\w+\.{LINEAR})', r'tokenizer.\1'),
    (rf'((?:encoder|decoder)\.conv_blocks\.\d+\.(?:res|attn)\.\d+\.\w+\.{LINEAR})',
     r'tokenizer.\1'),
    (rf'(encoder\.conv_blocks\.\d+\.downsample\.conv\.{LINEAR})', r'tokenizer.\1'),
    (rf'(decoder\.conv_blocks\.\d+\.upsample\.conv\.{LINEAR})', r'tokenizer.\1'),
    (r'(quantize\.embedding\.weight|quantize\.codebook_used)', r'tokenizer.\1'),
    (rf'((?:post_)?quant_conv\.{LINEAR})', r'tokenizer.\1'),
]


def _indices(sd: Dict[str, torch.Tensor], pattern: str) -> List[int]:
    return sorted({int(m.group(1)) for k in sd if (m := re.match(pattern, k))})


def flexvar_kwargs_from_state_dict(sd: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """``FlexVARTransformer`` kwargs read from a transformer state dict.

    ``depth`` is the number of ``blocks.N``; the width must be ``64 * depth``.
    """
    blocks = _indices(sd, r'blocks\.(\d+)\.')
    if not blocks:
        raise ConversionError('transformer checkpoint has no blocks.N.* keys')
    depth = blocks[-1] + 1
    class_emb = require(sd, 'class_emb.weight', 'transformer')
    if class_emb.shape[1] != 64 * depth:
        raise ConversionError(f'a FlexVAR with {depth} blocks is {64 * depth} wide, but '
                              f'class_emb.weight is {tuple(class_emb.shape)}')
    pos = require(sd, 'pos_1LC', 'transformer')
    if pos.ndim != 4 or pos.shape[2] != pos.shape[3]:
        raise ConversionError(f'pos_1LC should be a (1, C, G, G) grid, got {tuple(pos.shape)} '
                              '(a VAR checkpoint? use var_to_sarmm.py)')
    return dict(
        depth=depth,
        num_classes=class_emb.shape[0] - 1,
        vocab_size=require(sd, 'head.weight', 'transformer').shape[0],
        cvae=require(sd, 'word_embed.weight', 'transformer').shape[1],
        pos_grid_size=pos.shape[-1])


def flexvae_kwargs_from_state_dict(sd: Dict[str, torch.Tensor]) -> Dict[str, Any]:
    """``FlexVQVAE`` kwargs read from a tokenizer state dict."""
    levels = _indices(sd, r'encoder\.conv_blocks\.(\d+)\.')
    res = _indices(sd, r'encoder\.conv_blocks\.0\.res\.(\d+)\.')
    if not levels or not res:
        raise ConversionError('tokenizer checkpoint lacks encoder.conv_blocks.N.res.M keys; '
                              'is it FlexVAE.pth?')
    ch = require(sd, 'encoder.conv_in.weight', 'tokenizer').shape[0]
    ch_mult = tuple(
        require(sd, f'encoder.conv_blocks.{i}.res.0.conv1.weight', 'tokenizer').shape[0] // ch
        for i in levels)
    embedding = require(sd, 'quantize.embedding.weight', 'tokenizer')
    return dict(
        ch=ch,
        z_channels=require(sd, 'quant_conv.weight', 'tokenizer').shape[1],
        ch_mult=ch_mult,
        num_res_blocks=len(res),
        vocab_size=embedding.shape[0],
        embed_dim=embedding.shape[1],
        usage_buffer_size=require(sd, 'quantize.codebook_used', 'tokenizer').shape[0])


def check_flexvar_conversion(state_dict: Dict[str, torch.Tensor], backbone_kwargs: Dict[str, Any],
                             tokenizer_kwargs: Dict[str, Any]) -> None:
    """Compare converted keys/shapes with the sar_mm modules built on the meta device.

    Raises:
        ConversionError: naming missing, unexpected and mis-shaped keys.
    """
    target = nn.Module()
    with torch.device('meta'):
        target.backbone = FlexVARTransformer(**backbone_kwargs)
        target.tokenizer = FlexVQVAE(**tokenizer_kwargs)
    check_state_dict_matches(state_dict, target)


def convert_flexvar_checkpoints(transformer_sd: Dict[str, torch.Tensor],
                                tokenizer_sd: Dict[str, torch.Tensor],
                                sources: Tuple[str, str] = ('', '')) -> Dict[str, Any]:
    """Convert a FlexVAR/SAR transformer and FlexVAE into one sar_mm checkpoint.

    Args:
        transformer_sd: the transformer's state dict (official key names).
        tokenizer_sd: ``FlexVAE.pth``'s state dict.
        sources: file names recorded in ``meta``.

    Returns:
        dict: ``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=dict(...))``;
        ``meta`` holds the ``backbone`` and ``tokenizer`` config dicts, the dropped
        keys and the kept statistics buffers.

    Raises:
        ConversionError: unknown keys, missing keys, wrong shapes, or a
            transformer and tokenizer that do not belong together.
    """
    backbone_kwargs = flexvar_kwargs_from_state_dict(transformer_sd)
    tokenizer_kwargs = flexvae_kwargs_from_state_dict(tokenizer_sd)
    if (tokenizer_kwargs['embed_dim'] != backbone_kwargs['cvae']
            or tokenizer_kwargs['vocab_size'] != backbone_kwargs['vocab_size']):
        raise ConversionError(
            f"transformer (Cvae={backbone_kwargs['cvae']}, V={backbone_kwargs['vocab_size']}) "
            f"and tokenizer (Cvae={tokenizer_kwargs['embed_dim']}, "
            f"V={tokenizer_kwargs['vocab_size']}) do not belong together")
    backbone_sd = convert_state_dict(transformer_sd, FLEXVAR_RULES)
    tokenizer_sd_new = convert_state_dict(tokenizer_sd, FLEXVAE_RULES)
    state_dict = {**backbone_sd, **tokenizer_sd_new}
    check_flexvar_conversion(state_dict, backbone_kwargs, tokenizer_kwargs)
    dropped = sorted(set(transformer_sd) - {k[len('backbone.'):] for k in backbone_sd})
    meta = dict(
        converter='sar_mm.models.converters.flexvar',
        sources=dict(transformer=sources[0], tokenizer=sources[1]),
        backbone=dict(type='FlexVARTransformer', **backbone_kwargs),
        tokenizer=dict(type='FlexVQVAE', **tokenizer_kwargs),
        dropped_keys=dropped,
        kept_statistics_buffers=['tokenizer.quantize.codebook_used'])
    return dict(state_dict=state_dict, meta=meta)
