"""Block-causal attention split per scale == one masked attention call."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.backbones.block_causal_attention import BlockCausalMask, block_causal_bias

SIZES = [1, 4, 9, 16, 25, 36, 64, 100]  # scales 1..6, 8, 10


def test_small_leading_scales_form_the_masked_prefix():
    mask = BlockCausalMask.from_block_sizes(SIZES, min_split_tokens=64)
    assert mask.prefix_bias.shape == (1, 1, 91, 91)  # 1 + 4 + ... + 36 tokens
    assert mask.blocks == ((91, 155), (155, 255)) and mask.num_tokens == 255
    assert torch.equal(mask.dense(), block_causal_bias(SIZES))
    every = BlockCausalMask.from_block_sizes(SIZES, min_split_tokens=1)
    assert every.prefix_bias.shape == (1, 1, 1, 1) and len(every.blocks) == len(SIZES) - 1
    assert torch.equal(every.dense(), block_causal_bias(SIZES))
    none = BlockCausalMask.from_block_sizes(SIZES, min_split_tokens=1000)
    assert none.blocks == () and torch.equal(none.dense(), block_causal_bias(SIZES))


@pytest.mark.parametrize('min_split', [1, 16, 64])
def test_split_attention_and_its_gradients_equal_the_masked_call(min_split):
    torch.manual_seed(0)
    L = sum(SIZES)
    q, k, v = (torch.randn(2, 3, L, 8, dtype=torch.float64, requires_grad=True) for _ in range(3))
    grad_out = torch.randn(2, 3, L, 8, dtype=torch.float64)
    mask = BlockCausalMask.from_block_sizes(SIZES, min_split, dtype=torch.float64)
    split = mask.attend(q, k, v, dropout_p=0.0, scale=0.3)
    grads_split = torch.autograd.grad(split, (q, k, v), grad_out)
    dense = F.scaled_dot_product_attention(q, k, v, attn_mask=block_causal_bias(SIZES).double(),
                                           scale=0.3)
    grads_dense = torch.autograd.grad(dense, (q, k, v), grad_out)
    torch.testing.assert_close(split, dense, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads_split, grads_dense):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_wrong_length_and_sizes_are_refused():
    mask = BlockCausalMask.from_block_sizes(SIZES)
    q = torch.zeros(1, 1, 10, 4)
    with pytest.raises(ValueError, match='covers 255 tokens, got 10'):
        mask.attend(q, q, q, 0.0, 1.0)
    with pytest.raises(ValueError, match='positive'):
        BlockCausalMask.from_block_sizes([1, 0, 4])
    with pytest.raises(ValueError, match='attn_split_min_tokens'):
        FlexVARTransformer(depth=1, num_classes=2, vocab_size=8, cvae=4, pos_grid_size=4,
                           attn_split_min_tokens=0)


def test_flexvar_teacher_and_student_passes_match_the_dense_mask():
    kwargs = dict(depth=2, num_classes=3, vocab_size=16, cvae=4, pos_grid_size=8)
    torch.manual_seed(0)
    split = FlexVARTransformer(attn_split_min_tokens=4, **kwargs).train()
    dense = FlexVARTransformer(attn_split_min_tokens=None, **kwargs).train()
    dense.load_state_dict(split.state_dict())
    patch_nums = [1, 2, 3, 4]
    labels = torch.tensor([0, 2])
    x = torch.randn(2, sum(pn * pn for pn in patch_nums) - 1, 4)
    x_student = torch.randn(2, 16, 4)
    outs = []
    for model in (split, dense):
        torch.manual_seed(1)  # same label dropout and drop-path draws
        logits = model(labels, x, patch_nums)
        student = model.forward_student(labels, x_student, patch_nums, 3)
        (logits.logsumexp(-1).sum() + student.logsumexp(-1).sum()).backward()
        outs.append((logits, student, {n: p.grad for n, p in model.named_parameters()}))
    (la, sa, ga), (lb, sb, gb) = outs
    torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sa, sb, rtol=1e-5, atol=1e-5)
    for name in ga:
        torch.testing.assert_close(ga[name], gb[name], rtol=1e-4, atol=1e-6, msg=name)
