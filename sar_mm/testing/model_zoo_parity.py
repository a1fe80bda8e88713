"""Parity of the model zoo with the official VAR / FlexVAR code (reference fixtures).

One function per fixture kind (``fixture`` field of the JSON sidecar), each
recomputing every stored output from the official call recorded in the sidecar:

* :func:`check_flexvae_small`: FlexVAR's tokenizer (``FlexVQVAE``);
* :func:`check_flexvar_small`: the FlexVAR transformer (teacher forcing on two
  schedules, SAR's student-forcing pass, KV-cached sampling with three guidance
  modes); it also needs the ``flexvae_small`` fixture its sidecar names;
* :func:`check_var_small`: VAR's VQVAE and transformer.

Each loads a ``*.pt`` + ``*.json`` pair, loads the stored official weights
through the converter rule tables, recomputes every stored quantity with
sar_mm's components and returns one :class:`~sar_mm.testing.parity.ParityRow`
per stored key (the row is named after the key). Sizes, schedules, vocabulary,
number of classes, batch size, labels, guidance scale and seeds are read from
the files, never assumed; tolerances come from the sidecar. A stored key that no
row covers yields a failing ``unchecked stored keys`` row, so a fixture with
quantities this module does not know cannot pass silently.
"""
import re
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

from sar_mm.models.backbones import FlexVARTransformer, VARTransformer
from sar_mm.models.converters.flexvar import (FLEXVAE_RULES, FLEXVAR_RULES,
                                              convert_flexvar_checkpoints,
                                              flexvae_kwargs_from_state_dict)
from sar_mm.models.converters.var import VAR_RULES, VQVAE_RULES, convert_var_checkpoints
from sar_mm.models.tokenizers import FlexVQVAE, MultiScaleVQVAE
from sar_mm.models.tokenizers.residual_quantizer import phi_index_per_scale
from sar_mm.models.utils import FLEXVAR_SAMPLED_SCALES, SamplingConfig, autoregressive_generate
from sar_mm.utils.state_dict_conversion import Rule, convert_state_dict
from .parity import (ParityRow, Tolerance, compare_close, compare_exact, load_reference,
                     sidecar_tolerance)

__all__ = ['check_flexvae_small', 'check_flexvar_small', 'check_var_small']

PathLike = Union[str, Path]

#: Stored keys that are inputs of the official calls, not outputs to recompute.
_INPUT_KEYS = {
    'flexvae_small': {'img', 'patch_nums'},
    'flexvar_small': {'patch_nums', 'label_B', 'alt_patch_nums', 'sf_patch_nums', 'ar_label_B',
                      'ar_alt_patch_nums'},
    'var_small': {'img', 'patch_nums', 'label_B', 'ar_label_B'},
}

#: Sampler settings of the official ``autoregressive_infer_cfg`` calls when the
#: sidecar's ``calls`` text does not state them (the fixtures were made with
#: ``top_k=1, top_p=0``, greedy; FlexVAR ``max_pn=16``).
_AR_DEFAULTS = dict(top_k=1, top_p=0.0, max_pn=16)


def _load(pt_path: PathLike, kind: str) -> Tuple[dict, dict]:
    """``(tensors, sidecar)`` of ``pt_path``, checking the sidecar's ``fixture`` kind."""
    pt_path = Path(pt_path)
    data, sidecar = load_reference(pt_path.parent, pt_path.stem)
    if sidecar.get('fixture') != kind:
        raise ValueError(f'{pt_path} is a {sidecar.get("fixture")!r} fixture, not {kind!r}')
    return data, sidecar


def _tolerances(sidecar: dict) -> Dict[str, Tolerance]:
    return dict(latents=sidecar_tolerance(sidecar, 'latents'),
                logits=sidecar_tolerance(sidecar, 'logits'),
                images=sidecar_tolerance(sidecar, 'decoded'))


def _ar_setting(calls: dict, name: str) -> float:
    """A sampler argument (``top_k``, ``top_p``, ``max_pn``) of the ``ar_*`` call text."""
    text = ' '.join(str(v) for k, v in calls.items() if k.startswith('ar_'))
    match = re.search(rf'\b{name}=([0-9.]+)', text)
    return float(match.group(1)) if match else _AR_DEFAULTS[name]


def _load_module(module: torch.nn.Module, converted: Dict[str, torch.Tensor],
                 prefix: str) -> torch.nn.Module:
    """Load the ``prefix``-ed part of a converted state dict strictly; eval mode."""
    module.load_state_dict({k[len(prefix):]: v for k, v in converted.items()
                            if k.startswith(prefix)}, strict=True)
    return module.eval()


def _state_dict_row(name: str, module: torch.nn.Module, official: Dict[str, torch.Tensor],
                    rules: Sequence[Rule], prefix: str) -> ParityRow:
    """Exact equality of the loaded weights with the official state dict (kept keys)."""
    renamed = convert_state_dict(official, rules)
    ours = module.state_dict()
    keys = sorted(renamed)
    return compare_exact(name, [ours[k[len(prefix):]].float() for k in keys],
                         [renamed[k].float() for k in keys])


def _coverage_row(kind: str, data: dict, rows: Iterable[ParityRow]) -> ParityRow:
    """Fails when a stored key is neither an input nor compared by a row."""
    unchecked = sorted(set(data) - _INPUT_KEYS[kind] - {r.name for r in rows})
    expected = 'expected none, got: ' + ', '.join(unchecked) if unchecked else 'none'
    return ParityRow('unchecked stored keys', float(len(unchecked)), expected, not unchecked)


# --- FlexVAE ---------------------------------------------------------------------------------
def _build_flexvae(state_dict: Dict[str, torch.Tensor]) -> FlexVQVAE:
    """``FlexVQVAE`` sized from an official FlexVAE state dict, with its weights, eval mode."""
    tokenizer = FlexVQVAE(**flexvae_kwargs_from_state_dict(state_dict))
    return _load_module(tokenizer, convert_state_dict(state_dict, FLEXVAE_RULES), 'tokenizer.')


@torch.no_grad()
def check_flexvae_small(pt_path: PathLike) -> List[ParityRow]:
    """Recompute every output of a ``flexvae_small`` fixture with :class:`FlexVQVAE`.

    Official calls (FlexVAR ``models/vq_llama.py``, ``trainer.py``): the encoder
    feature and latent, the area-resized latent of every scale, independent
    L2-normalised quantisation (tokens and code maps), the teacher-forcing input
    ``encode_var_wo_firstL``, per-scale decoding, and ``multi_scale_encode``
    (which resizes the encoder output *before* ``quant_conv``).

    Args:
        pt_path: the fixture's ``.pt`` file; its ``.json`` sidecar lies beside it.

    Returns:
        list[ParityRow]: one row per stored key (tokens exact, latents and inputs
        with the sidecar's latent tolerance, images with its image tolerance).
    """
    data, sidecar = _load(pt_path, 'flexvae_small')
    tol = _tolerances(sidecar)
    tok = _build_flexvae(data['state_dict'])
    img, pns = data['img'], list(data['patch_nums'])

    enc_h = tok.encoder(img)  # (B, z_channels, h, w)
    latent = tok.encode_latent(img)  # (B, Cvae, h, w)
    idx = tok.latent_to_idx(latent, pns)  # K x (B, pn*pn)
    # multi_scale_encode: area-resize the encoder output, then quant_conv and quantise
    msq = []
    for pn in pns:
        z = tok.quant_conv(F.interpolate(enc_h, size=(pn, pn), mode='area'))  # (B, Cvae, pn, pn)
        msq.append(tok.idx_to_code_map(tok.quantize.quantize(z), pn))
    rows = [
        _state_dict_row('state_dict', tok, data['state_dict'], FLEXVAE_RULES, 'tokenizer.'),
        compare_close('enc_h', enc_h, data['enc_h'], tol['latents']),
        compare_close('latent', latent, data['latent'], tol['latents']),
        compare_close('latent_area_per_scale',
                      [F.interpolate(latent, size=(pn, pn), mode='area') for pn in pns],
                      data['latent_area_per_scale'], tol['latents']),
        compare_exact('idx_per_scale', idx, data['idx_per_scale']),
        compare_exact('gt_idx_BL', torch.cat(idx, dim=1), data['gt_idx_BL']),
        compare_close('quant_per_scale', [tok.idx_to_code_map(i, pn) for i, pn in zip(idx, pns)],
                      data['quant_per_scale'], tol['latents']),
        compare_close('x_BLCv_wo_first_l', tok.idx_to_next_inputs(idx, pns),
                      data['x_BLCv_wo_first_l'], tol['latents']),
        compare_close('decoded_per_scale', tok.decode_idx(idx, pns, all_scales=True),
                      data['decoded_per_scale'], tol['images']),
        compare_close('multi_scale_encode_quant', msq, data['multi_scale_encode_quant'],
                      tol['latents']),
    ]
    return rows + [_coverage_row('flexvae_small', data, rows)]


# --- FlexVAR ---------------------------------------------------------------------------------
def _tokenizer_fixture_of(pt_path: PathLike, sidecar: dict) -> Path:
    """The ``flexvae_small`` file a ``flexvar_small`` sidecar names (same folder).

    Raises:
        FileNotFoundError: the sidecar names no ``.pt`` file, or it is missing.
    """
    match = re.search(r'([\w.-]+\.pt)\b', str(sidecar.get('tokenizer', '')))
    if match is None:
        raise FileNotFoundError(f'the sidecar of {pt_path} names no tokenizer fixture '
                                f"('tokenizer' field: {sidecar.get('tokenizer')!r})")
    path = Path(pt_path).parent / match.group(1)
    if not path.is_file():
        raise FileNotFoundError(f'tokenizer fixture {path} (named by the sidecar of {pt_path}) '
                                'not found')
    return path


@torch.no_grad()
def check_flexvar_small(pt_path: PathLike) -> List[ParityRow]:
    """Recompute every output of a ``flexvar_small`` fixture.

    Official calls (FlexVAR ``models/flexvar.py``, SAR ``models/flexvar.py``;
    docs/method.md §7.17-7.21): ``FlexVAR.forward`` on the training and an
    alternative schedule, SAR's ``forward(student_forcing=True)`` on
    ``[1, pn_last]``, and ``autoregressive_infer_cfg`` (FlexVAR ramp, LlamaGen
    guidance, a schedule beyond training) with SAR's per-scale images. The
    teacher-forcing inputs are re-derived from the tokenizer fixture's image.

    Args:
        pt_path: the fixture's ``.pt`` file; its sidecar and the tokenizer
            fixture it names (``flexvae_small``) lie beside it.

    Returns:
        list[ParityRow]: one row per stored key.
    """
    data, sidecar = _load(pt_path, 'flexvar_small')
    vae_data, _ = _load(_tokenizer_fixture_of(pt_path, sidecar), 'flexvae_small')
    tol = _tolerances(sidecar)
    converted = convert_flexvar_checkpoints(data['state_dict'], vae_data['state_dict'])
    meta = converted['meta']
    bb = FlexVARTransformer(**{k: v for k, v in meta['backbone'].items() if k != 'type'})
    bb = _load_module(bb, converted['state_dict'], 'backbone.')
    tok = _load_module(FlexVQVAE(**{k: v for k, v in meta['tokenizer'].items() if k != 'type'}),
                       converted['state_dict'], 'tokenizer.')

    img, labels = vae_data['img'], data['label_B']
    pns, alt_pns, sf_pns = (list(data[k]) for k in ('patch_nums', 'alt_patch_nums',
                                                    'sf_patch_nums'))
    latent = tok.encode_latent(img)  # (B, Cvae, h, w)
    idx = tok.latent_to_idx(latent, pns)
    # SAR student input: bicubic(GT code map of scale K-2 -> the student scale)
    x_sf, _ = tok.ar_next_input(idx[-2], 0, [pns[-2], sf_pns[-1]], None)  # (B, pn^2, Cvae)
    rows = [
        _state_dict_row('state_dict', bb, data['state_dict'], FLEXVAR_RULES, 'backbone.'),
        compare_close('x_BLCv_wo_first_l', tok.idx_to_next_inputs(idx, pns),
                      data['x_BLCv_wo_first_l'], tol['latents']),
        compare_close('logits_tf', bb(labels, data['x_BLCv_wo_first_l'], pns),
                      data['logits_tf'], tol['logits']),
        compare_close('x_BLCv_wo_first_l_alt',
                      tok.idx_to_next_inputs(tok.latent_to_idx(latent, alt_pns), alt_pns),
                      data['x_BLCv_wo_first_l_alt'], tol['latents']),
        compare_close('logits_tf_alt', bb(labels, data['x_BLCv_wo_first_l_alt'], alt_pns),
                      data['logits_tf_alt'], tol['logits']),
        compare_close('x_sf', x_sf, data['x_sf'], tol['latents']),
        compare_close('logits_sf', bb.forward_student(labels, data['x_sf'], sf_pns,
                                                      len(sf_pns) - 1),
                      data['logits_sf'], tol['logits']),
    ]

    config, calls = sidecar['config'], sidecar.get('calls', {})
    top_k, top_p = int(_ar_setting(calls, 'top_k')), _ar_setting(calls, 'top_p')
    max_pn = int(_ar_setting(calls, 'max_pn'))

    def sample(patch_nums: Sequence[int], cfg_schedule: str, **extras):
        sampling = SamplingConfig(patch_nums=patch_nums, cfg=float(config['ar_cfg']),
                                  cfg_schedule=cfg_schedule, top_k=top_k, top_p=top_p,
                                  max_pn=max_pn, sampled_scales=FLEXVAR_SAMPLED_SCALES)
        return autoregressive_generate(
            bb, tok, data['ar_label_B'], sampling,
            generator=torch.Generator().manual_seed(int(config['ar_seed'])), **extras)

    ar = sample(pns, 'flexvar', return_logits=True, return_scale_images=True)
    llamagen = sample(pns, 'llamagen')
    alt = sample(list(data['ar_alt_patch_nums']), 'flexvar')
    rows += [
        compare_exact('ar_idx_per_scale', ar.idx_per_scale, data['ar_idx_per_scale']),
        compare_close('ar_cfg_logits_per_scale', ar.logits_per_scale,
                      data['ar_cfg_logits_per_scale'], tol['logits']),
        compare_close('ar_img', ar.image, data['ar_img'], tol['images']),
        compare_close('sar_ar_intermediate_imgs_but_last', ar.scale_images[:-1],
                      data['sar_ar_intermediate_imgs_but_last'], tol['images']),
        compare_exact('ar_llamagen_cfg_idx_per_scale', llamagen.idx_per_scale,
                      data['ar_llamagen_cfg_idx_per_scale']),
        compare_close('ar_llamagen_cfg_img', llamagen.image, data['ar_llamagen_cfg_img'],
                      tol['images']),
        compare_exact('ar_alt_idx_per_scale', alt.idx_per_scale, data['ar_alt_idx_per_scale']),
        compare_close('ar_alt_img', alt.image, data['ar_alt_img'], tol['images']),
    ]
    return rows + [_coverage_row('flexvar_small', data, rows)]


# --- VAR -------------------------------------------------------------------------------------
@torch.no_grad()
def check_var_small(pt_path: PathLike) -> List[ParityRow]:
    """Recompute every output of a ``var_small`` fixture.

    Official calls (VAR ``models/vqvae.py``, ``quant.py``, ``var.py``;
    docs/method.md §7.8-7.12): the latent, residual multi-scale quantisation (tokens
    and cumulative ``f_hat``), decoding after the last and after every scale, the
    teacher-forcing input ``idxBl_to_var_input``, ``VAR.forward``, and
    ``autoregressive_infer_cfg`` (whose image is in [0, 1]). The shared-phi
    index of every scale is checked against the sidecar's
    ``phi_index_per_scale``.

    Args:
        pt_path: the fixture's ``.pt`` file; its ``.json`` sidecar lies beside it.

    Returns:
        list[ParityRow]: one row per stored key, plus ``phi_index_per_scale``.
    """
    data, sidecar = _load(pt_path, 'var_small')
    tol = _tolerances(sidecar)
    pns = list(data['patch_nums'])
    converted = convert_var_checkpoints(data['var_state_dict'], data['vqvae_state_dict'],
                                        patch_nums=pns)
    meta = converted['meta']
    bb = _load_module(VARTransformer(**{k: v for k, v in meta['backbone'].items()
                                        if k != 'type'}), converted['state_dict'], 'backbone.')
    tok = _load_module(MultiScaleVQVAE(**{k: v for k, v in meta['tokenizer'].items()
                                          if k != 'type'}), converted['state_dict'], 'tokenizer.')
    img = data['img']

    f = tok.encode_latent(img)  # (B, Cvae, h, w)
    _, fhat = tok.quantize.residual_encode(f, pns)
    idx = tok.img_to_idx(img, pns)
    images = tok.decode_idx(idx, pns, all_scales=True)  # K x (B, 3, H, W) in [-1, 1]
    config = sidecar['config']
    sampling = SamplingConfig(patch_nums=pns, cfg=float(config['ar_cfg']), cfg_schedule='var',
                              top_k=int(_ar_setting(sidecar.get('calls', {}), 'top_k')),
                              top_p=_ar_setting(sidecar.get('calls', {}), 'top_p'))
    ar = autoregressive_generate(
        bb, tok, data['ar_label_B'], sampling,
        generator=torch.Generator().manual_seed(int(config['ar_seed'])), return_logits=True)
    rows = [
        _state_dict_row('vqvae_state_dict', tok, data['vqvae_state_dict'], VQVAE_RULES,
                        'tokenizer.'),
        _state_dict_row('var_state_dict', bb, data['var_state_dict'], VAR_RULES, 'backbone.'),
        compare_exact('phi_index_per_scale',
                      torch.tensor(phi_index_per_scale(len(pns),
                                                       meta['tokenizer']['share_quant_resi'])),
                      torch.tensor(sidecar['phi_index_per_scale'])),
        compare_close('f', f, data['f'], tol['latents']),
        compare_exact('idx_Bl', idx, data['idx_Bl']),
        compare_close('fhat_per_scale', fhat, data['fhat_per_scale'], tol['latents']),
        compare_close('rec_last', images[-1], data['rec_last'], tol['images']),
        compare_close('rec_all_scales_but_last', images[:-1], data['rec_all_scales_but_last'],
                      tol['images']),
        compare_close('x_BLCv_wo_first_l', tok.idx_to_next_inputs(idx, pns),
                      data['x_BLCv_wo_first_l'], tol['latents']),
        compare_close('logits_tf', bb(data['label_B'], data['x_BLCv_wo_first_l'], pns),
                      data['logits_tf'], tol['logits']),
        compare_exact('ar_idx_per_scale', ar.idx_per_scale, data['ar_idx_per_scale']),
        compare_close('ar_cfg_logits_per_scale', ar.logits_per_scale,
                      data['ar_cfg_logits_per_scale'], tol['logits']),
        compare_close('ar_img', (ar.image + 1) / 2, data['ar_img'], tol['images']),
    ]
    return rows + [_coverage_row('var_small', data, rows)]
