"""Shared layers: attention dtype under autocast, the block cache, per-dtype masks, compiling."""
import pytest
import torch
import torch.nn.functional as F

from sar_mm.models.backbones import FlexVARTransformer, VARTransformer
from sar_mm.models.backbones.layers import (AdaLNSelfAttn, BlockCache, SelfAttention,
                                            attention_dtype, block_causal_bias, run_blocks)


def test_attention_dtype_follows_autocast():
    assert attention_dtype('cpu', torch.float32) is torch.float32
    assert attention_dtype('cpu', torch.float64) is torch.float64
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert attention_dtype('cpu', torch.float32) is torch.bfloat16


def old_forward(attn: SelfAttention, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The attention as written before casting to the attention dtype (q's dtype everywhere)."""
    B, L, C = x.shape
    qkv_bias = torch.cat((attn.q_bias, attn.zero_k_bias, attn.v_bias))
    qkv = F.linear(x, attn.mat_qkv.weight, qkv_bias).view(B, L, 3, attn.num_heads, attn.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q = F.normalize(q, dim=-1).mul(attn.scale_mul_1H11.clamp_max(attn.max_scale_mul).exp())
    k = F.normalize(k, dim=-1)
    out = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype),
                                         attn_mask=bias.to(q.dtype), scale=attn.scale)
    return attn.proj(out.transpose(1, 2).reshape(B, L, C))


def test_autocast_attention_is_unchanged_by_the_early_casts():
    torch.manual_seed(0)
    attn = SelfAttention(64, 4).eval()
    with torch.no_grad():
        attn.scale_mul_1H11.uniform_(0.5, 2.0)
    x = torch.randn(2, 14, 64)
    bias = block_causal_bias([1, 4, 9])
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.equal(attn(x, bias), old_forward(attn, x, bias))
    with torch.no_grad():
        assert torch.equal(attn(x, bias), old_forward(attn, x, bias))


def test_kv_cache_is_kept_in_the_autocast_dtype():
    torch.manual_seed(0)
    attn = SelfAttention(64, 4).eval()
    x = torch.randn(2, 5, 64)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        cache = BlockCache(2, 5, 4, 16, torch.float32, x.device)
        first = attn(x[:, :1], None, cache)
        assert cache.k.dtype is torch.bfloat16 and cache.v.dtype is torch.bfloat16
        second = attn(x[:, 1:], None, cache)
        # the cached steps equal one pass in which the first token cannot see the others
        bias = torch.zeros(1, 1, 5, 5)
        bias[..., 0, 1:] = float('-inf')
        full = attn(x, bias)
    assert torch.allclose(torch.cat((first, second), 1).float(), full.float(), atol=2e-2)
    with torch.no_grad():
        cache = BlockCache(2, 5, 4, 16, torch.float32, x.device)
        attn(x[:, :1], None, cache)
        assert cache.k.dtype is torch.float32 and cache.length == 1


def test_kv_cache_refuses_overflow_and_a_mask():
    attn = SelfAttention(64, 4).eval()
    cache = BlockCache(2, 3, 4, 16, torch.float32, torch.device('cpu'))
    with torch.no_grad():
        attn(torch.randn(2, 2, 64), None, cache)
        with pytest.raises(ValueError, match='holds 3 tokens; 2 are stored and 2 more'):
            attn(torch.randn(2, 2, 64), None, cache)
        with pytest.raises(ValueError, match='no attn_bias'):
            attn(torch.randn(2, 1, 64), torch.zeros(1, 1, 1, 1), cache)


def test_masks_are_cached_per_dtype():
    model = FlexVARTransformer(depth=1, num_classes=4, vocab_size=8, cvae=4, pos_grid_size=4)
    cpu = torch.device('cpu')
    fp32 = model.attn_bias([1, 2], cpu)
    assert fp32.dtype is torch.float32 and model.attn_bias([1, 2], cpu) is fp32
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = model.attn_bias([1, 2], cpu)
        assert model.attn_bias([1, 2], cpu) is bf16
    assert bf16.dtype is torch.bfloat16 and torch.equal(bf16.float(), fp32)
    assert model.attn_bias([1, 2], cpu, torch.bfloat16) is bf16


def test_cached_modulation_is_computed_once_and_changes_nothing():
    torch.manual_seed(0)
    block = AdaLNSelfAttn(64, 64, 4).eval()
    with torch.no_grad():
        block.ada_lin[-1].weight.normal_()
    calls = []
    block.ada_lin.register_forward_hook(lambda *args: calls.append(1))
    cond, xs = torch.randn(2, 64), [torch.randn(2, 1, 64), torch.randn(2, 4, 64)]
    bias = block_causal_bias([1, 4])
    with torch.no_grad():
        cache = BlockCache(2, 5, 4, 16, torch.float32, cond.device)
        cached = [block(x, cond, None, cache) for x in xs]
        assert len(calls) == 1 and cache.modulation.shape == (2, 1, 6, 64)
        full = block(torch.cat(xs, dim=1), cond, bias)
        assert len(calls) == 2
    torch.testing.assert_close(torch.cat(cached, dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('backbone_type,positions', [(FlexVARTransformer, dict(pos_grid_size=4)),
                                                     (VARTransformer, dict(patch_nums=(1, 2)))])
def test_compile_switch_routes_the_blocks_through_the_compiled_runner(monkeypatch, backbone_type,
                                                                      positions):
    import sar_mm.models.backbones.base_backbone as base_module
    calls = []

    def fake_compiled():
        calls.append(1)
        return run_blocks

    monkeypatch.setattr(base_module, 'compiled_run_blocks', fake_compiled)
    kwargs = dict(depth=1, num_classes=4, vocab_size=8, cvae=4, **positions)
    torch.manual_seed(0)
    plain = backbone_type(**kwargs).eval()
    compiled = backbone_type(compile_blocks=True, **kwargs).eval()
    compiled.load_state_dict(plain.state_dict())
    labels, x = torch.tensor([1, 2]), torch.randn(2, 4, 4)
    with torch.no_grad():
        out = plain(labels, x, [1, 2])
        assert not calls
        assert torch.equal(out, compiled(labels, x, [1, 2]))
        assert len(calls) == 1
        compiled.forward_student(labels, x, [1, 2], 1)
        with compiled.kv_cache(labels, [1, 2]) as cache:
            cache.step(cache.start())
    assert len(calls) == 3
    assert not backbone_type(**kwargs).compile_blocks
