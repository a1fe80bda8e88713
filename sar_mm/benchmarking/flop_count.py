"""Analytic FLOP counts of the training and sampling passes, from model shapes.

Pure functions: every count follows from a few integers (widths, depth,
vocabulary, the scale schedule), never from running a model. Conventions:

* one multiply-add is 2 FLOPs; only matrix products are counted (linear
  layers, attention products, convolutions); normalisations, activations,
  softmax, resampling and sorting are not;
* attention counts every (query, key) pair the dense kernel computes: a
  block-causal pass over ``L`` tokens is ``L x L`` pairs (the masked pairs are
  computed too), a KV-cached step of ``l`` new tokens over a cache of ``m``
  tokens is ``l x m`` pairs;
* a training pass (forward and backward) is 3 forward passes (the backward
  computes gradients of both inputs and weights, 2 forwards' worth); passes
  run without gradient count once.

These are the conventions of :class:`torch.utils.flop_counter.FlopCounterMode`
for forward passes, which the tests use as an independent check.
"""
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    'TRAIN_FLOPS_MULTIPLIER', 'TransformerDims', 'VQ16Dims', 'transformer_pass_flops',
    'teacher_forcing_flops', 'student_pass_flops', 'sar_step_flops', 'sampling_flops',
    'conv2d_flops', 'vq16_encode_flops', 'vq16_decode_flops'
]

#: forward + backward of a pass with gradient, in forward passes.
TRAIN_FLOPS_MULTIPLIER = 3


@dataclass(frozen=True)
class TransformerDims:
    """Shapes of a next-scale transformer (VAR / FlexVAR).

    Attributes:
        embed_dim (int): width ``C``.
        depth (int): number of AdaLN blocks.
        ffn_dim (int): FFN hidden size.
        vocab_size (int): ``V``, the head's output size.
        cvae (int): tokenizer code dimension (``word_embed`` input).
        cond_dim (int): width of the AdaLN condition (``C`` in VAR / FlexVAR).
    """

    embed_dim: int
    depth: int
    ffn_dim: int
    vocab_size: int
    cvae: int
    cond_dim: int


def transformer_pass_flops(dims: TransformerDims, num_tokens: int, num_keys: int,
                           num_logits: int, num_inputs: int) -> int:
    """Forward FLOPs of one backbone call, per batch row.

    Per block: AdaLN ``2 D 6C`` (once per row), ``qkv`` ``2 n C 3C``,
    attention ``4 n m C`` (scores and weighted sum over all heads), ``proj``
    ``2 n C C``, FFN ``4 n C F``; then the head's AdaLN ``2 D 2C`` and the head
    ``2 n_logits C V``; ``word_embed`` ``2 n_in Cvae C``.

    Args:
        dims (TransformerDims): the model's shapes.
        num_tokens (int): ``n``, tokens run through the blocks.
        num_keys (int): ``m``, keys each query attends over (``n`` for a
            masked dense pass, the cache length for a cached step).
        num_logits (int): tokens that go through the head.
        num_inputs (int): tokens embedded by ``word_embed``.

    Returns:
        int: FLOPs.
    """
    C, F, D = dims.embed_dim, dims.ffn_dim, dims.cond_dim
    per_block = (2 * D * 6 * C + 2 * num_tokens * C * 3 * C + 4 * num_tokens * num_keys * C
                 + 2 * num_tokens * C * C + 4 * num_tokens * C * F)
    head = 2 * D * 2 * C + 2 * num_logits * C * dims.vocab_size
    embed = 2 * num_inputs * dims.cvae * C
    return dims.depth * per_block + head + embed


def teacher_forcing_flops(dims: TransformerDims, patch_nums: Sequence[int]) -> int:
    """Forward FLOPs of one teacher-forced pass over the schedule, per row.

    ``L = sum(pn ** 2)`` tokens, ``L x L`` attention pairs, ``L`` logits and
    ``L - 1`` embedded inputs (the start token has none).
    """
    L = sum(pn * pn for pn in patch_nums)
    return transformer_pass_flops(dims, L, L, L, L - 1)


def student_pass_flops(dims: TransformerDims, pn: int) -> int:
    """Forward FLOPs of SAR's Markovian student pass on scale ``pn``, per row.

    ``1 + pn ** 2`` tokens (class token and the scale), dense attention over
    them, ``pn ** 2`` logits and inputs (docs/method.md §2.4).
    """
    n = 1 + pn * pn
    return transformer_pass_flops(dims, n, n, pn * pn, pn * pn)


def sar_step_flops(dims: TransformerDims, patch_nums: Sequence[int],
                   student_scales: Sequence[int], sf_context: str, uncond_pass: bool) -> int:
    """FLOPs of one SAR (stagger-scale rollout) training step, per row.

    Teacher pass with gradient, the rollout's unconditional teacher pass
    without gradient (``uncond_pass``), and the student pass(es) with gradient:
    one Markovian pass per student scale, or one block-causal pass over the
    whole shifted sequence (``sf_context='full'``).

    Args:
        student_scales: indices into ``patch_nums`` of the student-forced scales.
        sf_context (str): ``'markov'`` or ``'full'``.
        uncond_pass (bool): whether the rollout runs the unconditional pass.

    Returns:
        int: FLOPs (forward and backward).
    """
    teacher = teacher_forcing_flops(dims, patch_nums)
    if sf_context == 'markov':
        student = sum(student_pass_flops(dims, patch_nums[k]) for k in student_scales)
    elif sf_context == 'full':
        student = teacher
    else:
        raise ValueError(f"sf_context must be 'markov' or 'full', got {sf_context!r}")
    return (TRAIN_FLOPS_MULTIPLIER * (teacher + student) + (teacher if uncond_pass else 0))


def sampling_flops(dims: TransformerDims, patch_nums: Sequence[int], cfg: bool = True) -> int:
    """Backbone FLOPs of KV-cached sampling of one image (decoding excluded).

    Step ``si`` runs ``pn_si ** 2`` new tokens over a cache of every token so
    far; the first step's token is the class embedding (no ``word_embed``).
    The blocks' AdaLN modulations ``ada_lin(cond)`` are computed at the first
    step only and kept for the others (in each block's ``BlockCache``).
    With classifier-free guidance every step runs two rows.
    """
    total, seen = 0, 0
    block_modulation = dims.depth * 2 * dims.cond_dim * 6 * dims.embed_dim
    for si, pn in enumerate(patch_nums):
        n = pn * pn
        seen += n
        total += transformer_pass_flops(dims, n, seen, n, n if si > 0 else 0)
        if si > 0:
            total -= block_modulation
    return total * (2 if cfg else 1)


# --- the LlamaGen VQ-16 autoencoder of FlexVAR ---------------------------------------------
@dataclass(frozen=True)
class VQ16Dims:
    """Shapes of a ``FlexVQVAE`` (LlamaGen VQ-16) autoencoder.

    Attributes:
        ch (int), ch_mult (tuple[int]), num_res_blocks (int), z_channels (int),
        embed_dim (int): code dimension ``Cvae``, vocab_size (int),
        in_channels (int): image channels.
    """

    ch: int
    ch_mult: Sequence[int]
    num_res_blocks: int
    z_channels: int
    embed_dim: int
    vocab_size: int
    in_channels: int = 3


def conv2d_flops(in_channels: int, out_channels: int, kernel_size: int, out_side: int) -> int:
    """``2 Cin Cout k^2 H W`` for a square output of side ``out_side`` (bias not counted)."""
    return 2 * in_channels * out_channels * kernel_size * kernel_size * out_side * out_side


def _resnet_block_flops(cin: int, cout: int, side: int) -> int:
    shortcut = conv2d_flops(cin, cout, 1, side) if cin != cout else 0
    return conv2d_flops(cin, cout, 3, side) + conv2d_flops(cout, cout, 3, side) + shortcut


def _attn_block_flops(c: int, side: int) -> int:
    n = side * side
    return 4 * conv2d_flops(c, c, 1, side) + 4 * n * n * c  # q, k, v, proj_out; QK^T and AV


def vq16_encode_flops(dims: VQ16Dims, image_side: int, patch_nums: Sequence[int]) -> int:
    """FLOPs of ``FlexVQVAE.img_to_idx`` for one square image.

    Encoder (``conv_in``, one level per ``ch_mult`` entry with attention on the
    last, ``mid``, ``conv_out``), ``quant_conv`` and, for every scale, the
    code distances ``2 pn^2 Cvae V``.
    """
    ch, mult, n_levels = dims.ch, tuple(dims.ch_mult), len(dims.ch_mult)
    side = image_side
    total = conv2d_flops(dims.in_channels, ch, 3, side)
    in_mult = (1, ) + mult
    for i in range(n_levels):
        cin, cout = ch * in_mult[i], ch * mult[i]
        for _ in range(dims.num_res_blocks):
            total += _resnet_block_flops(cin, cout, side)
            cin = cout
            if i == n_levels - 1:
                total += _attn_block_flops(cout, side)
        if i != n_levels - 1:
            side //= 2
            total += conv2d_flops(cout, cout, 3, side)  # stride-2 down-sampling
    top = ch * mult[-1]
    total += 2 * _resnet_block_flops(top, top, side) + _attn_block_flops(top, side)
    total += conv2d_flops(top, dims.z_channels, 3, side)
    total += conv2d_flops(dims.z_channels, dims.embed_dim, 1, side)  # quant_conv
    total += sum(2 * pn * pn * dims.embed_dim * dims.vocab_size for pn in patch_nums)
    return total


def vq16_decode_flops(dims: VQ16Dims, latent_side: int) -> int:
    """FLOPs of decoding one (``latent_side`` x ``latent_side``) code map.

    ``post_quant_conv``, the decoder's ``conv_in`` and ``mid``, one level per
    ``ch_mult`` entry from the lowest resolution up (``num_res_blocks + 1`` res
    blocks, attention on the first level, nearest x2 and a 3x3 convolution
    between levels), ``conv_out``.
    """
    ch, mult, n_levels = dims.ch, tuple(dims.ch_mult), len(dims.ch_mult)
    side = latent_side
    top = ch * mult[-1]
    total = conv2d_flops(dims.embed_dim, dims.z_channels, 1, side)  # post_quant_conv
    total += conv2d_flops(dims.z_channels, top, 3, side)
    total += 2 * _resnet_block_flops(top, top, side) + _attn_block_flops(top, side)
    cin = top
    for step, level in enumerate(reversed(range(n_levels))):
        cout = ch * mult[level]
        for _ in range(dims.num_res_blocks + 1):
            total += _resnet_block_flops(cin, cout, side)
            cin = cout
            if step == 0:
                total += _attn_block_flops(cout, side)
        if step != n_levels - 1:
            side *= 2
            total += conv2d_flops(cout, cout, 3, side)  # up-sampling convolution
    total += conv2d_flops(cin, dims.in_channels, 3, side)
    return total
