"""A tiny FlexVAR pair, hand-built inputs, and one recorded rollout step."""
from typing import Sequence, Tuple

import torch

from sar_mm.models.backbones.flexvar_transformer import FlexVARTransformer
from sar_mm.models.rollouts import BaseRollout
from sar_mm.models.tokenizers.flex_vqvae import FlexVQVAE
from sar_mm.models.utils.scale_layout import RolloutOutput
from sar_mm.testing import RolloutTrace
from sar_mm.testing.tiny_components import perturb_weights


def traced(rollout: BaseRollout, tiny_flexvar: tuple) -> Tuple[RolloutOutput, RolloutTrace]:
    """(output, trace) of one step of ``rollout`` on the ``tiny_flexvar`` fixture."""
    tokenizer, backbone, labels, idx_list, patch_nums = tiny_flexvar
    trace = RolloutTrace(rollout)
    return trace(backbone, tokenizer, labels, idx_list, patch_nums), trace


def up_code(tokenizer: FlexVQVAE, idx: torch.Tensor, pn: int, next_pn: int) -> torch.Tensor:
    """Hand-built FlexVAR input: bicubic(normalised codebook[idx] as a map -> next_pn).

    Returns:
        Tensor: (B, next_pn ** 2, Cvae).
    """
    codebook = torch.nn.functional.normalize(tokenizer.quantize.embedding.weight, dim=-1)
    code = codebook[idx].view(idx.shape[0], pn, pn, -1).permute(0, 3, 1, 2)  # (B, C, pn, pn)
    up = torch.nn.functional.interpolate(code, size=(next_pn, next_pn), mode='bicubic')
    return up.flatten(2).transpose(1, 2)


def block(patch_nums: Sequence[int], k: int) -> slice:
    """Token range of scale k in a sequence of all scales."""
    begin = sum(pn * pn for pn in patch_nums[:k])
    return slice(begin, begin + patch_nums[k] ** 2)


def build_tiny_pair(seed: int = 0):
    torch.manual_seed(seed)
    tokenizer = FlexVQVAE(ch=32, z_channels=32, ch_mult=(1, 1), num_res_blocks=1, vocab_size=64,
                          embed_dim=8, usage_buffer_size=16)
    backbone = FlexVARTransformer(depth=1, num_classes=10, vocab_size=64, cvae=8,
                                  pos_grid_size=8, cond_drop_rate=0.0)
    perturb_weights(backbone)
    return tokenizer, backbone.eval()
