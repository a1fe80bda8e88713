"""Shared layers: attention dtype under autocast, KV cache dtype, per-dtype cached masks."""
import torch
import torch.nn.functional as F

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.backbones.layers import block_causal_bias
from sar_mm.models.backbones.layers import AdaLNSelfAttn, SelfAttention, attention_dtype, run_blocks


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
        attn.enable_kv_cache(2, 5, torch.float32, x.device)
        first = attn(x[:, :1], None)
        assert attn._cache_k.dtype is torch.bfloat16 and attn._cache_v.dtype is torch.bfloat16
        second = attn(x[:, 1:], None)
        attn.disable_kv_cache()
        # the cached steps equal one pass in which the first token cannot see the others
        bias = torch.zeros(1, 1, 5, 5)
        bias[..., 0, 1:] = float('-inf')
        full = attn(x, bias)
    assert torch.allclose(torch.cat((first, second), 1).float(), full.float(), atol=2e-2)
    with torch.no_grad():
        attn.enable_kv_cache(2, 5, torch.float32, x.device)
        attn(x[:, :1], None)
        assert attn._cache_k.dtype is torch.float32


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


def test_reused_modulation_is_computed_once_and_changes_nothing():
    torch.manual_seed(0)
    block = AdaLNSelfAttn(64, 64, 4).eval()
    with torch.no_grad():
        block.ada_lin[-1].weight.normal_()
    calls = []
    block.ada_lin.register_forward_hook(lambda *args: calls.append(1))
    cond, xs = torch.randn(2, 64), [torch.randn(2, 1, 64), torch.randn(2, 4, 64)]

    def run_steps():
        block.attn.enable_kv_cache(2, 5, torch.float32, cond.device)
        outs = [block(x, cond, None) for x in xs]
        block.attn.disable_kv_cache()
        return outs

    with torch.no_grad():
        plain = run_steps()
        assert len(calls) == 2
        block.reuse_modulation(True)
        reused = run_steps()
        assert len(calls) == 3
        block.reuse_modulation(False)
        assert block._modulation is None
    assert all(torch.equal(a, b) for a, b in zip(plain, reused))


def test_sampling_backbones_reuse_and_release_the_modulation():
    model = FlexVARTransformer(depth=2, num_classes=4, vocab_size=8, cvae=4, pos_grid_size=4)
    model.eval()
    with torch.no_grad():
        x = model.ar_begin(torch.tensor([0, 4]), [1, 2])
        model.ar_step(x, torch.tensor([0, 4]))
        assert all(b._modulation is not None for b in model.blocks)
        model.ar_end()
    assert all(b._modulation is None and not b._reuse_modulation for b in model.blocks)


def test_compile_switch_routes_the_blocks_through_the_compiled_runner(monkeypatch):
    import sar_mm.models.backbones.flexvar_transformer as flexvar_module
    calls = []

    def fake_compiled():
        calls.append(1)
        return run_blocks

    monkeypatch.setattr(flexvar_module, 'compiled_run_blocks', fake_compiled)
    kwargs = dict(depth=1, num_classes=4, vocab_size=8, cvae=4, pos_grid_size=4)
    torch.manual_seed(0)
    plain = FlexVARTransformer(**kwargs).eval()
    compiled = FlexVARTransformer(compile_blocks=True, **kwargs).eval()
    compiled.load_state_dict(plain.state_dict())
    labels, x = torch.tensor([1, 2]), torch.randn(2, 4, 4)
    with torch.no_grad():
        out = plain(labels, x, [1, 2])
        assert not calls
        assert torch.equal(out, compiled(labels, x, [1, 2]))
        assert len(calls) == 1
        compiled.forward_student(labels, x, [1, 2], 1)
        compiled.ar_step(compiled.ar_begin(labels, [1, 2]), labels)
        compiled.ar_end()
    assert len(calls) == 3
    assert not FlexVARTransformer(**kwargs).compile_blocks
