"""Sample class-conditional images with a sar_mm generator and save them as a PNG grid.

Usage::

    python demo/sample_demo.py CONFIG CHECKPOINT [--labels 207 88] [--cfg 2.5] [--seed 0]
        [--out grid.png] [--show-scales] [--device cpu] [--top-k K] [--top-p P]
        [--patch-nums 1 2 3 ...] [--precision fp32|auto|bf16|fp16]
        [--cfg-options KEY=VALUE ...] [--trust-checkpoint] [--batch-size B] [--debug]

CHECKPOINT is a converted release (``tools/model_converters/*_to_sarmm.py``) or
a ``tools/train.py`` checkpoint (pass ``--trust-checkpoint``: those files pickle
more than tensors). ``none`` samples from the randomly initialised model of the
config, which only shows that the pipeline runs: the images are meaningless.

Sample ``i`` is drawn with seed ``seed + i`` on its own, so an image depends only
on its label, its seed and the settings. Without ``--show-scales`` the grid is
one row of final images; with it, one row per scale (each scale's decoded
image enlarged to the final size), the last row being the final images.
Settings not given on the command line come from the config's ``test_cfg``.
The images are drawn ``--batch-size`` at a time with a progress bar; a grid
holds at most 256. A user error (a missing file, a bad setting, a checkpoint
that does not fit) is reported in one line (``--debug``: with the traceback).
"""
import argparse
import sys
from typing import List, Optional

from mmengine.config import DictAction
from mmengine.logging import print_log

from sar_mm.apis import image_grid, init_demo_generator, sample_images
from sar_mm.apis.demo_batches import check_demo_size, draw_in_batches
from sar_mm.utils.cli_errors import add_debug_flag, positive_int, run_cli
from sar_mm.utils.image_file import image_output_path, write_image_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Sample a PNG grid from a sar_mm generator')
    parser.add_argument('config', help='config file (its `model` is built)')
    parser.add_argument('checkpoint', help="weights, or 'none' for a randomly initialised model")
    parser.add_argument('--labels', type=int, nargs='+', default=[207, 88],
                        help='class ids, one image each')
    parser.add_argument('--cfg', type=float, help='guidance scale (default: test_cfg)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the first image')
    parser.add_argument('--out', type=image_output_path, default='grid.png', help='output PNG')
    parser.add_argument('--show-scales', action='store_true',
                        help='one row per scale, enlarged to the final size')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--top-k', type=int, help='top-k (0 disables; default: test_cfg)')
    parser.add_argument('--top-p', type=float, help='top-p (0 disables; default: test_cfg)')
    parser.add_argument('--patch-nums', type=int, nargs='+', help='scale schedule')
    parser.add_argument('--precision', choices=['fp32', 'auto', 'bf16', 'fp16'],
                        help='sampling precision (default: test_cfg, fp32); auto = fp16 on '
                        'CUDA, bf16 on CPUs with native bf16, else fp32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. model.test_cfg.cfg_schedule=var')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with weights_only=False (trusted files only)')
    parser.add_argument('--batch-size', type=positive_int, default=8,
                        help='images per sampling call')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    try:
        check_demo_size(len(args.labels), '--labels')
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    generator = init_demo_generator(args.config, args.checkpoint, device=args.device,
                                    cfg_options=args.cfg_options,
                                    trust_checkpoint=args.trust_checkpoint)
    seeds = [args.seed + i for i in range(len(args.labels))]
    given = dict(cfg=args.cfg, top_k=args.top_k, top_p=args.top_p, patch_nums=args.patch_nums,
                 precision=args.precision)
    overrides = {key: value for key, value in given.items() if value is not None}
    out = draw_in_batches(
        lambda start, stop: sample_images(generator, args.labels[start:stop],
                                          seeds=seeds[start:stop],
                                          return_scale_images=args.show_scales, **overrides),
        len(args.labels), args.batch_size)
    images, scale_images = out if args.show_scales else (out, None)
    grid = image_grid(images, scale_images)
    write_image_file(grid, args.out)
    print_log(f'{len(args.labels)} samples (labels {args.labels}, seeds {seeds}) -> {args.out} '
              f'({grid.shape[1]}x{grid.shape[0]} px)', logger='current')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
