"""Encode a training set once with the frozen tokenizer, for ``LatentDataset`` configs.

Usage::

    python tools/extract_latents.py CONFIG TOKENIZER_CHECKPOINT --out FILE.npz
        [--batch-size 64] [--no-hflip] [--device cpu] [--trust-checkpoint]
        [--cfg-options k=v ...] [--debug]

The images are those of the config's ``train_dataloader.dataset``: the
``source`` of a ``LatentDataset`` config (``configs/toy/flexvar_tiny_shapes_*``),
or an image dataset whose pipeline's only randomness is a horizontal
``RandomFlip``. The tokenizer is built from ``model.tokenizer`` and loaded
from the ``tokenizer.*`` entries of TOKENIZER_CHECKPOINT (a tokenizer-training
or generator checkpoint). Every image is encoded as is and mirrored
(``--no-hflip``: as is only) in float32; the file records the source, the
tokenizer config, the checkpoint and a digest of the tokenizer weights
(layout: :mod:`sar_mm.datasets.latent_dataset`).

Training a generator on the file gives the token maps it would compute from
the images, without running the encoder at every step. A user error (a missing file, images
of different sizes, a checkpoint that does not fit) is one line (``--debug``:
with the traceback).
"""
import argparse
import sys
import time
from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from sar_mm.apis import (extract_latents, latent_source_config, load_tokenizer_checkpoint,
                         save_latent_file, tokenizer_digest)
from sar_mm.registry import TOKENIZERS
from sar_mm.utils.cli_errors import add_debug_flag, positive_int, run_cli
from sar_mm.utils.config_validation import check_cfg_options
from sar_mm.utils.setup_env import register_all_modules


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Cache the frozen tokenizer latents of a '
                                     'training set')
    parser.add_argument('config', help='config with model.tokenizer and train_dataloader')
    parser.add_argument('checkpoint', help='checkpoint with tokenizer.* weights')
    parser.add_argument('--out', required=True, help='the .npz file to write')
    parser.add_argument('--batch-size', type=positive_int, default=64,
                        help='images per encoder call')
    parser.add_argument('--no-hflip', action='store_true',
                        help='do not encode mirrored images (no RandomLatentFlip then)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load a tools/train.py checkpoint (pickles more than tensors)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    check_cfg_options(cfg, args.cfg_options, for_runner=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    source, pipeline, flips = latent_source_config(cfg.train_dataloader.dataset.to_dict())
    tokenizer = TOKENIZERS.build(cfg.model.tokenizer.to_dict())
    load_tokenizer_checkpoint(tokenizer, args.checkpoint, args.trust_checkpoint)
    hflip = not args.no_hflip
    if flips and not hflip:
        print_log('the image pipeline flips at random but --no-hflip skips mirrored images',
                  logger='current', level=30)
    start = time.time()
    content = extract_latents(tokenizer, source, pipeline, hflip=hflip,
                              batch_size=args.batch_size, device=args.device)
    meta = dict(source=source, tokenizer=cfg.model.tokenizer.to_dict(),
                checkpoint=args.checkpoint, tokenizer_sha256=tokenizer_digest(tokenizer))
    save_latent_file(args.out, content, meta)
    views = ', '.join(str(v) for v in content['views'])
    print_log(f'wrote {args.out}: latents {tuple(content["latents"].shape)} (views {views}) '
              f'in {time.time() - start:.1f} s', logger='current')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
