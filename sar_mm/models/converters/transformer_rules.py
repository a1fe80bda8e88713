"""What the VAR and FlexVAR converters share: the transformer's rules and the key lookup.

The official transformers (FoundationVision/VAR ``models/var.py``,
jiaosiyu1999/FlexVAR ``models/flexvar.py``) name their embeddings, blocks and
head the same way, and sar_mm keeps every name, so a key maps to ``backbone.``
plus itself. VAR adds its level embedding (see :data:`~.var.VAR_RULES`).
"""
from typing import Dict, List

import torch

from sar_mm.utils.state_dict_conversion import ConversionError, Rule

__all__ = ['LINEAR', 'TRANSFORMER_RULES', 'require']

#: the parameters of an ``nn.Linear`` / ``nn.Conv2d``
LINEAR = r'(?:weight|bias)'

#: Rules of the transformer keys both families share. ``attn_bias_for_masking``
#: (the block-causal mask) is dropped: sar_mm builds it from the schedule.
TRANSFORMER_RULES: List[Rule] = [
    (r'attn_bias_for_masking', None),
    (r'(pos_start|pos_1LC|class_emb\.weight)', r'backbone.\1'),
    (rf'(word_embed\.{LINEAR})', r'backbone.\1'),
    (r'(blocks\.\d+\.attn\.(?:scale_mul_1H11|q_bias|v_bias|zero_k_bias|mat_qkv\.weight))',
     r'backbone.\1'),
    (rf'(blocks\.\d+\.(?:attn\.proj|ffn\.fc1|ffn\.fc2|ada_lin\.1)\.{LINEAR})', r'backbone.\1'),
    (rf'(head_nm\.ada_lin\.1\.{LINEAR}|head\.{LINEAR})', r'backbone.\1'),
]


def require(sd: Dict[str, torch.Tensor], key: str, what: str) -> torch.Tensor:
    """``sd[key]``; a ``what`` checkpoint without it raises :class:`ConversionError`."""
    if key not in sd:
        raise ConversionError(f'{what} checkpoint lacks {key!r}; cannot read its architecture')
    return sd[key]
