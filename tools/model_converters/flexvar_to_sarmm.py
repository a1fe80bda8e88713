"""Convert a FlexVAR or SAR release (transformer + FlexVAE tokenizer) into a sar_mm checkpoint.

Usage::

    python tools/model_converters/flexvar_to_sarmm.py FlexVARd16-epo179.pth FlexVAE.pth \
        checkpoints/flexvar_d16_sarmm.pth [--trust-checkpoint]

The transformer may be an official training checkpoint (state dict under
``['trainer']['var_wo_ddp']``; ``SARd*-epo*.pth`` has the same layout) or a flat
state dict; the tokenizer's state dict is under ``['model']`` or flat. Files are
read by :mod:`sar_mm.utils.checkpoint_io` with ``weights_only=True``; the
official training checkpoints also pickle their argparse ``args``, which needs
``--trust-checkpoint`` (``weights_only=False`` for both inputs: only for files
from a trusted source). The output is
``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=...)``, loadable with
``strict=True`` into ``ScaleWiseAR`` built from the ``backbone`` / ``tokenizer``
config dicts in ``meta``. The rule table lives in
``sar_mm.models.converters.flexvar``.
"""
import argparse
import sys
from pathlib import Path

import torch
from mmengine.logging import print_log

from sar_mm.engine.atomic_local_backend import atomic_write_file
from sar_mm.models.converters.flexvar import convert_flexvar_checkpoints
from sar_mm.utils.checkpoint_io import read_state_dict
from sar_mm.utils.cli_errors import USER_ERRORS
from sar_mm.utils.output_paths import check_not_an_input, check_output_path


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert a FlexVAR/SAR release to sar_mm')
    parser.add_argument('transformer_ckpt', help='FlexVARd*-epo*.pth or SARd*-epo*.pth')
    parser.add_argument('tokenizer_ckpt', help='FlexVAE.pth')
    parser.add_argument('out', help='output checkpoint path')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load both inputs with weights_only=False (the official training '
                        'checkpoints pickle their argparse args); trusted files only')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_output_path(args.out, 'out')
        check_not_an_input(args.out, [args.transformer_ckpt, args.tokenizer_ckpt], 'out')
        ckpt = convert_flexvar_checkpoints(
            read_state_dict(args.transformer_ckpt, args.trust_checkpoint),
            read_state_dict(args.tokenizer_ckpt, args.trust_checkpoint),
            sources=(Path(args.transformer_ckpt).name, Path(args.tokenizer_ckpt).name))
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
