"""Convert an official VAR release into a sar_mm checkpoint.

Usage::

    python tools/model_converters/var_to_sarmm.py var_d16.pth vae_ch160v4096z32.pth \
        work_dirs/var_d16_sarmm.pth [--patch-nums 1 2 3 4 5 6 8 10 13 16] [--trust-checkpoint]

Both inputs are the flat state dicts released by FoundationVision/VAR; they are
read by :mod:`sar_mm.utils.checkpoint_io` with ``weights_only=True``
(``--trust-checkpoint``: ``weights_only=False`` for both, for a trusted file
that pickles more than tensors). The output is
``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=...)``, loadable with
``strict=True`` into ``ScaleWiseAR`` with the ``backbone`` / ``tokenizer`` config
dicts stored in ``meta``. The rule table lives in ``sar_mm.models.converters.var``.
"""
import argparse
import sys
from pathlib import Path

import torch
from mmengine.logging import print_log

from sar_mm.engine.atomic_local_backend import atomic_write_file
from sar_mm.models.converters.var import convert_var_checkpoints
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.utils.checkpoint_io import read_state_dict
from sar_mm.utils.cli_errors import USER_ERRORS
from sar_mm.utils.output_paths import check_not_an_input, check_output_path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert an official VAR release to sar_mm')
    parser.add_argument('var_ckpt', help='var_d{16,20,24,30}.pth')
    parser.add_argument('vqvae_ckpt', help='vae_ch160v4096z32.pth')
    parser.add_argument('out', help='output checkpoint path')
    parser.add_argument('--patch-nums', type=int, nargs='+', default=list(CANONICAL_PATCH_NUMS),
                        help='the schedule the model was trained with (release default)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load both inputs with weights_only=False; trusted files only')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_output_path(args.out, 'out')
        check_not_an_input(args.out, [args.var_ckpt, args.vqvae_ckpt], 'out')
        ckpt = convert_var_checkpoints(
            read_state_dict(args.var_ckpt, args.trust_checkpoint),
            read_state_dict(args.vqvae_ckpt, args.trust_checkpoint),
            patch_nums=args.patch_nums,
            sources=(Path(args.var_ckpt).name, Path(args.vqvae_ckpt).name))
    except USER_ERRORS as err:
        print(f'error: conversion failed: {err}', file=sys.stderr)
        return 1
    out = Path(args.out)
    with atomic_write_file(out) as f:  # a killed write leaves the previous file, not a part
        torch.save(ckpt, f)
    meta = ckpt['meta']
    print_log(f"converted {len(ckpt['state_dict'])} tensors "
              f"(dropped {meta['dropped_keys']}) -> {out}; "
              f"backbone={meta['backbone']}, tokenizer={meta['tokenizer']}", logger='current')
    return 0


if __name__ == '__main__':
    sys.exit(main())
