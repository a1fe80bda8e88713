"""Convert an official VAR release into a sar_mm checkpoint.

Usage::

    python tools/model_converters/var_to_sarmm.py var_d16.pth vae_ch160v4096z32.pth \
        work_dirs/var_d16_sarmm.pth [--patch-nums 1 2 3 4 5 6 8 10 13 16]

Both inputs are the flat state dicts released by FoundationVision/VAR; they are
loaded with ``weights_only=True``. The output is
``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=...)``, loadable with
``strict=True`` into ``ScaleWiseAR`` with the ``backbone`` / ``tokenizer`` config
dicts stored in ``meta``. The rule table lives in ``sar_mm.models.converters.var``.
"""
import argparse
import sys
from pathlib import Path

import torch
from mmengine.logging import print_log

from sar_mm.models.converters.var import convert_var_checkpoints, load_flat_state_dict
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.utils import ConversionError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert an official VAR release to sar_mm')
    parser.add_argument('var_ckpt', help='var_d{16,20,24,30}.pth')
    parser.add_argument('vqvae_ckpt', help='vae_ch160v4096z32.pth')
    parser.add_argument('out', help='output checkpoint path')
    parser.add_argument('--patch-nums', type=int, nargs='+', default=list(CANONICAL_PATCH_NUMS),
                        help='the schedule the model was trained with (release default)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    """Convert; raises :class:`ConversionError` naming the problem on a bad checkpoint."""
    args = parse_args(argv)
    var_sd = load_flat_state_dict(args.var_ckpt)
    vqvae_sd = load_flat_state_dict(args.vqvae_ckpt)
    ckpt = convert_var_checkpoints(var_sd, vqvae_sd, patch_nums=args.patch_nums,
                                   sources=(Path(args.var_ckpt).name, Path(args.vqvae_ckpt).name))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, out)
    meta = ckpt['meta']
    print_log(f"converted {len(ckpt['state_dict'])} tensors "
              f"(dropped {meta['dropped_keys']}) -> {out}; "
              f"backbone={meta['backbone']}, tokenizer={meta['tokenizer']}", logger='current')


if __name__ == '__main__':
    try:
        main()
    except ConversionError as err:
        sys.exit(f'var_to_sarmm: conversion failed: {err}')
