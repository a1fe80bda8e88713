"""Conversion of the official VAR releases into a sar_mm generator checkpoint.

Sources (FoundationVision/VAR): ``var_d{16,20,24,30}.pth`` and
``vae_ch160v4096z32.pth``, both flat state dicts. Every official attribute name
is kept by :class:`~sar_mm.models.backbones.VARTransformer` and
:class:`~sar_mm.models.tokenizers.MultiScaleVQVAE`, so the rules are a prefix
(``backbone.`` / ``tokenizer.``) plus three documented drops:

* ``attn_bias_for_masking``: the block-causal mask, rebuilt from the schedule
  (non-persistent buffer);
* ``lvl_1L``: the level index of every position, rebuilt from the schedule
  (non-persistent buffer);
* ``quantize.ema_vocab_hit_SV``: codebook-usage statistics of VQVAE training,
  unused for inference and for VAR/SAR training with a frozen tokenizer.

The model hyper-parameters (depth, classes, vocabulary, schedule length,
autoencoder widths) are read from the keys and shapes; the result is checked
key by key and shape by shape against models built on the meta device. The
files are read by :func:`sar_mm.utils.checkpoint_io.read_state_dict`.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from sar_mm.models.backbones.var_transformer import VARTransformer
from sar_mm.models.tokenizers.msvq_vae import MultiScaleVQVAE
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS, num_tokens
from sar_mm.utils.state_dict_conversion import (ConversionError, Rule, check_state_dict_matches,
                                                convert_state_dict)

from .transformer_rules import LINEAR, TRANSFORMER_RULES, require

__all__ = [
    'VAR_RULES', 'VQVAE_RULES', 'var_kwargs_from_state_dict',
    'vqvae_kwargs_from_state_dict', 'convert_var_checkpoints', 'check_var_conversion'
]

#: Rules for ``var_d*.pth`` (every key must match exactly one): the shared transformer rules
#: plus VAR's level embedding; ``lvl_1L`` (the level of every position) is rebuilt.
VAR_RULES: List[Rule] = TRANSFORMER_RULES + [
    (r'lvl_1L', None),
    (r'(lvl_embed\.weight)', r'backbone.\1'),
]

#: Rules for ``vae_ch160v4096z32.pth``.
VQVAE_RULES: List[Rule] = [
    (r'quantize\.ema_vocab_hit_SV', None),
    (rf'((?:encoder|decoder)\.[\w.]+\.{LINEAR})', r'tokenizer.\1'),
    (r'(quantize\.embedding\.weight)', r'tokenizer.\1'),
    (rf'(quantize\.quant_resi\.qresi_ls\.\d+\.{LINEAR})', r'tokenizer.\1'),
    (rf'((?:post_)?quant_conv\.{LINEAR})', r'tokenizer.\1'),
]


def _count(sd: Dict[str, torch.Tensor], template: str) -> int:
    """Number of consecutive indices ``0, 1, ...`` for which ``template.format(i)`` is a key."""
    n = 0
    while template.format(n) in sd:
        n += 1
    return n


def var_kwargs_from_state_dict(sd: Dict[str, torch.Tensor],
                               patch_nums: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """``VARTransformer`` kwargs read from a VAR state dict's keys and shapes.

    ``depth`` is the number of consecutive ``blocks.N``; the width must be ``64 * depth``. The
    schedule cannot be read from the keys (only its length and ``L``), so it
    defaults to :data:`~sar_mm.models.utils.scale_layout.CANONICAL_PATCH_NUMS`
    (the fixed schedule of every VAR release: 256 px, 16x16 latent) and is
    checked against both.
    """
    depth = _count(sd, 'blocks.{}.attn.mat_qkv.weight')
    if depth == 0:
        raise ConversionError('VAR checkpoint has no blocks.N.* keys; is it the VAR transformer '
                              f'(var_d*.pth)? its first keys: {sorted(sd)[:5]}')
    class_emb = require(sd, 'class_emb.weight', 'VAR')
    if class_emb.shape[1] != 64 * depth:
        raise ConversionError(f'VAR checkpoint with {depth} blocks should be {64 * depth} wide, '
                              f'class_emb.weight is {tuple(class_emb.shape)}')
    pns = tuple(CANONICAL_PATCH_NUMS if patch_nums is None else patch_nums)
    L = require(sd, 'pos_1LC', 'VAR').shape[1]
    levels = require(sd, 'lvl_embed.weight', 'VAR').shape[0]
    if num_tokens(pns) != L or len(pns) != levels:
        raise ConversionError(f'schedule {list(pns)} (L={num_tokens(pns)}, '
                              f'{len(pns)} levels) does not fit the checkpoint (pos_1LC L={L}, '
                              f'{levels} levels); pass the schedule the model was trained with')
    return dict(
        depth=depth,
        num_classes=class_emb.shape[0] - 1,
        vocab_size=require(sd, 'head.weight', 'VAR').shape[0],
        cvae=require(sd, 'word_embed.weight', 'VAR').shape[1],
        patch_nums=pns)


def vqvae_kwargs_from_state_dict(sd: Dict[str, torch.Tensor],
                                 patch_nums: Sequence[int]) -> Dict[str, Any]:
    """``MultiScaleVQVAE`` kwargs read from a VQVAE state dict's keys and shapes."""
    ch = require(sd, 'encoder.conv_in.weight', 'VQVAE').shape[0]
    levels = _count(sd, 'encoder.down.{}.block.0.conv1.weight')
    blocks = _count(sd, 'encoder.down.0.block.{}.conv1.weight')
    phis = _count(sd, 'quantize.quant_resi.qresi_ls.{}.weight')
    if not levels or not blocks or not phis:
        raise ConversionError('VQVAE checkpoint lacks encoder.down.N.block.M / '
                              'quantize.quant_resi.qresi_ls.N keys; is it the VAR VQVAE '
                              f'(vae_ch160v4096z32.pth)? its first keys: {sorted(sd)[:5]}')
    ch_mult = tuple(require(sd, f'encoder.down.{i}.block.0.conv1.weight', 'VQVAE').shape[0] // ch
                    for i in range(levels))
    embedding = require(sd, 'quantize.embedding.weight', 'VQVAE')
    return dict(
        ch=ch,
        z_channels=embedding.shape[1],
        vocab_size=embedding.shape[0],
        share_quant_resi=phis,
        patch_nums=tuple(patch_nums),
        ch_mult=ch_mult,
        num_res_blocks=blocks)


def check_var_conversion(state_dict: Dict[str, torch.Tensor], backbone_kwargs: Dict[str, Any],
                         tokenizer_kwargs: Dict[str, Any]) -> None:
    """Compare converted keys/shapes with ``VARTransformer`` + ``MultiScaleVQVAE`` on meta.

    Raises:
        ConversionError: naming missing, unexpected and mis-shaped keys.
    """
    target = nn.Module()
    with torch.device('meta'):
        target.backbone = VARTransformer(**backbone_kwargs)
        target.tokenizer = MultiScaleVQVAE(**tokenizer_kwargs)
    check_state_dict_matches(state_dict, target)


def convert_var_checkpoints(
        var_sd: Dict[str, torch.Tensor], vqvae_sd: Dict[str, torch.Tensor],
        patch_nums: Optional[Sequence[int]] = None,
        sources: Tuple[str, str] = ('', '')) -> Dict[str, Any]:
    """Convert a VAR transformer and its VQVAE into one sar_mm checkpoint.

    Args:
        var_sd: flat state dict of ``var_d*.pth``.
        vqvae_sd: flat state dict of ``vae_ch160v4096z32.pth``.
        patch_nums: the schedule the model was trained with (release default).
        sources: file names recorded in ``meta``.

    Returns:
        dict: ``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=dict(...))``; ``meta``
        holds the ``backbone`` and ``tokenizer`` config dicts and the dropped keys.

    Raises:
        ConversionError: unknown keys, missing keys, wrong shapes, or
            inconsistent architecture.
    """
    backbone_sd = convert_state_dict(var_sd, VAR_RULES)
    tokenizer_sd = convert_state_dict(vqvae_sd, VQVAE_RULES)
    backbone_kwargs = var_kwargs_from_state_dict(var_sd, patch_nums)
    tokenizer_kwargs = vqvae_kwargs_from_state_dict(vqvae_sd, backbone_kwargs['patch_nums'])
    if tokenizer_kwargs['z_channels'] != backbone_kwargs['cvae'] or \
            tokenizer_kwargs['vocab_size'] != backbone_kwargs['vocab_size']:
        raise ConversionError(
            f"VAR (Cvae={backbone_kwargs['cvae']}, V={backbone_kwargs['vocab_size']}) and VQVAE "
            f"(Cvae={tokenizer_kwargs['z_channels']}, V={tokenizer_kwargs['vocab_size']}) "
            'do not belong together')
    state_dict = {**backbone_sd, **tokenizer_sd}
    check_var_conversion(state_dict, backbone_kwargs, tokenizer_kwargs)
    dropped = sorted(set(var_sd) - {k[len('backbone.'):] for k in backbone_sd}) + sorted(
        set(vqvae_sd) - {k[len('tokenizer.'):] for k in tokenizer_sd})
    meta = dict(
        converter='sar_mm.models.converters.var',
        sources=dict(var=sources[0], vqvae=sources[1]),
        backbone=dict(type='VARTransformer', **backbone_kwargs),
        tokenizer=dict(type='MultiScaleVQVAE', **tokenizer_kwargs),
        dropped_keys=dropped)
    return dict(state_dict=state_dict, meta=meta)
