"""Parity of stochastic sampling with the official FlexVAR sampler (fixture ``flexvar_sampling``).

The official ``FlexVAR.autoregressive_infer_cfg`` draws every token of the
batch from ONE ``torch.Generator`` seeded with the case's seed, row by row and
scale by scale, through top-k / top-p filtering and ``torch.multinomial``.
sar_mm's :func:`~sar_mm.models.utils.autoregressive_generate` with one
generator for the batch must draw exactly the same tokens: the fixture's cases
were kept only where noise far below the logits tolerance does not change a
draw. Four cases (sidecar ``cases``) vary top-k, top-p, the guidance scale and
form and the schedule; every setting is read from the sidecar.
"""
from pathlib import Path
from typing import List, Union

import torch

from sar_mm.models.backbones import FlexVARTransformer
from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
from sar_mm.models.tokenizers import FlexVQVAE
from sar_mm.models.utils import FLEXVAR_SAMPLED_SCALES, SamplingConfig, autoregressive_generate
from .parity import ParityRow, compare_close, compare_exact, load_reference, parse_tolerance

__all__ = ['build_flexvar_pair', 'check_flexvar_sampling']


def build_flexvar_pair(flexvar_state_dict: dict, flexvae_state_dict: dict):
    """``(backbone, tokenizer)`` in eval mode with official weights, through the converter."""
    converted = convert_flexvar_checkpoints(flexvar_state_dict, flexvae_state_dict)
    meta, state = converted['meta'], converted['state_dict']
    backbone = FlexVARTransformer(**{k: v for k, v in meta['backbone'].items() if k != 'type'})
    tokenizer = FlexVQVAE(**{k: v for k, v in meta['tokenizer'].items() if k != 'type'})
    for prefix, module in (('backbone.', backbone), ('tokenizer.', tokenizer)):
        module.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                                if k.startswith(prefix)}, strict=True)
    return backbone.eval(), tokenizer.eval()


@torch.no_grad()
def check_flexvar_sampling(pt_path: Union[str, Path]) -> List[ParityRow]:
    """Sample every case of a ``flexvar_sampling`` fixture and compare.

    Returns:
        list[ParityRow]: per case ``<case> idx_per_scale`` (exact) and
        ``<case> img``, and the guided logits of the cases that store them.
    """
    pt_path = Path(pt_path)
    data, sidecar = load_reference(pt_path.parent, pt_path.stem)
    if sidecar.get('fixture') != 'flexvar_sampling':
        raise ValueError(f'{pt_path} is a {sidecar.get("fixture")!r} fixture, not '
                         "'flexvar_sampling'")
    contents = sidecar['contents']
    tol_img = parse_tolerance(contents['cases[name].img'])
    backbone, tokenizer = build_flexvar_pair(data['flexvar_state_dict'],
                                             data['flexvae_state_dict'])
    rows = []
    for name, stored in data['cases'].items():
        case = sidecar['cases'][name]
        if case.get('more_smooth'):
            raise ValueError(f'case {name}: more_smooth sampling is not implemented in sar_mm')
        sampling = SamplingConfig(
            patch_nums=case['patch_nums'], cfg=float(case['cfg']),
            cfg_schedule='llamagen' if case['used_llamagen_cfg'] else 'flexvar',
            top_k=int(case['top_k']), top_p=float(case['top_p']), max_pn=int(case['max_pn']),
            sampled_scales=FLEXVAR_SAMPLED_SCALES)
        out = autoregressive_generate(
            backbone, tokenizer, data['labels'], sampling,
            generator=torch.Generator().manual_seed(int(stored['seed'])),
            return_logits='cfg_logits_per_scale' in stored)
        rows += [compare_exact(f'{name} idx_per_scale', out.idx_per_scale,
                               stored['idx_per_scale']),
                 compare_close(f'{name} img', out.image, stored['img'], tol_img)]
        if 'cfg_logits_per_scale' in stored:
            tol_logits = parse_tolerance(contents[f'cases[{name}].cfg_logits_per_scale'])
            rows.append(compare_close(f'{name} cfg_logits_per_scale', out.logits_per_scale,
                                      stored['cfg_logits_per_scale'], tol_logits))
    return rows
