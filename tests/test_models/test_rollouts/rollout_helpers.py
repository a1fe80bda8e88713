"""A tiny FlexVAR pair, a backbone wrapper that records every call, hand-built inputs."""
from typing import List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn

from sar_mm.models.backbones.flexvar_transformer import FlexVARTransformer
from sar_mm.models.tokenizers.flex_vqvae import FlexVQVAE


class Call(NamedTuple):
    kind: str  # 'forward' or 'student'
    labels: torch.Tensor
    inputs: torch.Tensor
    patch_nums: List[int]
    scale_index: Optional[int]
    logits: torch.Tensor
    grad_enabled: bool


class RecordingBackbone(nn.Module):
    """Forwards to a real backbone and keeps (a detached copy of) every call."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.inner = backbone
        self.num_classes = backbone.num_classes
        self.calls: List[Call] = []

    def forward(self, labels: torch.Tensor, x: torch.Tensor, patch_nums: Sequence[int]):
        logits = self.inner(labels, x, patch_nums)
        self.calls.append(Call('forward', labels.clone(), x.detach().clone(), list(patch_nums),
                               None, logits.detach().clone(), torch.is_grad_enabled()))
        return logits

    def forward_student(self, labels: torch.Tensor, x: torch.Tensor, patch_nums: Sequence[int],
                        scale_index: int):
        logits = self.inner.forward_student(labels, x, patch_nums, scale_index)
        self.calls.append(Call('student', labels.clone(), x.detach().clone(), list(patch_nums),
                               scale_index, logits.detach().clone(), torch.is_grad_enabled()))
        return logits


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
    # the official init makes blocks near-identities; perturb so predictions depend on inputs
    with torch.no_grad():
        for p in backbone.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return tokenizer, backbone.eval()
