"""The command line of ``tools/model_converters/{var,flexvar}_to_sarmm.py``.

Both tools take a transformer and a tokenizer file of an official release and
write ``dict(state_dict={'backbone.*', 'tokenizer.*'}, meta=...)``, loadable
with ``strict=True`` into ``ScaleWiseAR`` built from the ``backbone`` /
``tokenizer`` config dicts in ``meta``. Inputs are read by
:func:`sar_mm.utils.checkpoint_io.read_state_dict` with ``weights_only=True``
(``--trust-checkpoint``: ``weights_only=False`` for both, for trusted files that
pickle more than tensors); the output is written atomically and never over an
input. The rule tables live in :mod:`sar_mm.models.converters`.
"""
import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import torch
from mmengine.logging import print_log

from sar_mm.engine.atomic_local_backend import atomic_write_file
from sar_mm.models.converters import convert_flexvar_checkpoints, convert_var_checkpoints
from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS
from sar_mm.utils.checkpoint_io import read_state_dict
from sar_mm.utils.cli_errors import USER_ERRORS, add_debug_flag
from sar_mm.utils.output_paths import check_not_an_input, check_output_path

__all__ = ['RELEASES', 'convert_release']


class Release(NamedTuple):
    """One release family's command line: its two inputs and its converter."""
    description: str
    inputs: Tuple[Tuple[str, str], Tuple[str, str]]  # (argument, help) of transformer, tokenizer
    trust_help: str
    convert: Callable[..., Dict[str, Any]]  # (transformer_sd, tokenizer_sd, sources=, ...)
    takes_schedule: bool  # --patch-nums: the schedule cannot be read from the keys


RELEASES: Dict[str, Release] = dict(
    var=Release(
        description='Convert an official VAR release to sar_mm',
        inputs=(('var_ckpt', 'var_d{16,20,24,30}.pth'), ('vqvae_ckpt', 'vae_ch160v4096z32.pth')),
        trust_help='load both inputs with weights_only=False; trusted files only',
        convert=convert_var_checkpoints,
        takes_schedule=True),
    flexvar=Release(
        description='Convert a FlexVAR/SAR release to sar_mm',
        inputs=(('transformer_ckpt', 'FlexVARd*-epo*.pth or SARd*-epo*.pth'),
                ('tokenizer_ckpt', 'FlexVAE.pth')),
        trust_help='load both inputs with weights_only=False (the official training '
        'checkpoints pickle their argparse args); trusted files only',
        convert=convert_flexvar_checkpoints,
        takes_schedule=False))


def _parser(release: Release) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=release.description)
    for name, help_text in release.inputs:
        parser.add_argument(name, help=help_text)
    parser.add_argument('out', help='output checkpoint path')
    if release.takes_schedule:
        parser.add_argument('--patch-nums', type=int, nargs='+',
                            default=list(CANONICAL_PATCH_NUMS),
                            help='the schedule the model was trained with (release default)')
    parser.add_argument('--trust-checkpoint', action='store_true', help=release.trust_help)
    add_debug_flag(parser)
    return parser


def convert_release(family: str, argv: Optional[List[str]] = None) -> int:
    """Run the converter tool of ``family`` (a key of :data:`RELEASES`) on ``argv``.

    Returns:
        int: 0 after writing the output; 1 after printing a one-line error
        (unreadable or mismatched inputs, a bad output path), writing nothing;
        with ``--debug`` that error is raised with its traceback instead.
    """
    release = RELEASES[family]
    args = _parser(release).parse_args(argv)
    inputs = [getattr(args, name) for name, _ in release.inputs]
    schedule = dict(patch_nums=args.patch_nums) if release.takes_schedule else {}
    try:
        check_output_path(args.out, 'out')
        check_not_an_input(args.out, inputs, 'out')
        ckpt = release.convert(*(read_state_dict(path, args.trust_checkpoint) for path in inputs),
                               sources=tuple(Path(path).name for path in inputs), **schedule)
    except USER_ERRORS as err:
        if args.debug:
            raise
        print(f'error: conversion failed: {err} (--debug shows the traceback)', file=sys.stderr)
        return 1
    out = Path(args.out)
    with atomic_write_file(out) as f:  # a killed write leaves the previous file, not a part
        torch.save(ckpt, f)
    meta = ckpt['meta']
    print_log(f"converted {len(ckpt['state_dict'])} tensors "
              f"(dropped {meta['dropped_keys']}) -> {out}; "
              f"backbone={meta['backbone']}, tokenizer={meta['tokenizer']}", logger='current')
    return 0
