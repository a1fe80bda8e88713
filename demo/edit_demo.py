"""Zero-shot image-to-image with a sar_mm generator, saved as a PNG grid.

Usage::

    python demo/edit_demo.py CONFIG CHECKPOINT IMAGE --mode {inpaint,outpaint,edit,refine}
        [--mask MASK.png | --box x0,y0,x1,y1] [--pad N] [--keep-scales K] [--label N]
        [--edit-protocol {coherent,var_notebook}] [--num 4] [--seed 0] [--out edit.png]
        [--show-scales] [--device cpu]
        [--cfg C] [--top-k K] [--top-p P] [--patch-nums 1 2 3 ...]
        [--cfg-options KEY=VALUE ...] [--trust-checkpoint] [--batch-size B] [--debug]

Modes (docs/method.md §5.4; at every scale the tokens outside the mask are the
input's, the others are sampled with the usual guidance, top-k and top-p):

* ``inpaint``: regenerate the region of ``--mask`` / ``--box`` under ``--label``
  (default: the unconditional class, as VAR's notebook);
* ``edit``: the same, with ``--label`` (required) naming another class than the
  image's (class-conditional editing);
* ``outpaint``: shrink the image by ``--pad`` pixels on every side, place it in
  the middle of a grey canvas and regenerate the border (expansion);
* ``refine``: keep the first ``--keep-scales`` scales of the image and
  regenerate the rest (of ``--mask`` / ``--box`` if given, else everywhere).

``--keep-scales`` works in every mode; ``--label`` defaults to the
unconditional class except in ``edit``. ``--edit-protocol var_notebook``
follows VAR's ``demo_zero_shot_edit.ipynb`` (its mask rule, the 1 x 1 token
kept, the input's token maps as they are) instead of sar_mm's default. The
image is centre-cropped to a square and resized to the model's resolution
(last scale of the schedule x the tokenizer's downsampling) with a printed
note; ``--mask`` (a PNG of the image's size, white = regenerate, black = keep)
and ``--box`` (pixels of the image as given, ``x1`` and ``y1`` exclusive)
follow the same crop and resize.
CHECKPOINT is a converted release or a ``tools/train.py`` checkpoint
(``--trust-checkpoint``); ``none`` runs the randomly initialised model of the
config, which only shows that the pipeline runs.

The grid is one row: the input, its known region (regenerated pixels grey)
and ``--num`` results, result ``i`` drawn with seed ``seed + i``. With
``--show-scales``, one row per scale: the input at that scale's size, the
tokens kept at that scale (grey cells are regenerated) and each result's
decoded scale; the last row holds the final images.

The results are drawn ``--batch-size`` at a time with a progress bar (at most
256). A region that regenerates nothing (an all-black mask, a box that the
centre crop removes) is refused, as is an input that is not an image; every
user error is one line (``--debug``: with the traceback).
"""
import argparse
import sys
from typing import List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction
from mmengine.logging import print_log

from sar_mm.apis import edit_grid, edit_images, image_grid, init_demo_generator, known_region
from sar_mm.apis.demo_batches import check_demo_size, draw_in_batches
from sar_mm.datasets.errors import UnreadableImageError
from sar_mm.datasets.transforms.loading import read_rgb_image
from sar_mm.models.generators.scale_wise_ar import EDIT_PROTOCOLS
from sar_mm.models.utils import regenerate_per_scale
from sar_mm.utils.cli_errors import add_debug_flag, positive_int, run_cli
from sar_mm.utils.edit_canvas import box_mask, fit_square, pad_to_canvas
from sar_mm.utils.image_file import image_output_path, write_image_file

MODES = ('inpaint', 'outpaint', 'edit', 'refine')


def parse_box(text: str) -> Tuple[int, int, int, int]:
    try:
        box = tuple(int(v) for v in text.split(','))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise argparse.ArgumentTypeError(f'--box takes x0,y0,x1,y1 (four integers), got {text!r}')
    return box


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Zero-shot image-to-image with a sar_mm '
                                     'generator (PNG grid: input | known region | results)')
    parser.add_argument('config', help='config file (its `model` is built)')
    parser.add_argument('checkpoint', help="weights, or 'none' for a randomly initialised model")
    parser.add_argument('image', help='input image (any size; cropped and resized)')
    parser.add_argument('--mode', choices=MODES, required=True)
    region = parser.add_mutually_exclusive_group()
    region.add_argument('--mask', help='PNG of the image size: white = regenerate, black = keep')
    region.add_argument('--box', type=parse_box, help='x0,y0,x1,y1 in pixels of the image')
    parser.add_argument('--pad', type=int, help='outpaint: border width in pixels of the result')
    parser.add_argument('--keep-scales', type=int, default=None,
                        help='keep every token of the first K scales (refine: required)')
    parser.add_argument('--label', type=int,
                        help='class of the results (default: unconditional; edit: required)')
    parser.add_argument('--edit-protocol', choices=sorted(EDIT_PROTOCOLS), default='coherent',
                        help="mask rule and kept tokens (docs/method.md §5.4); 'var_notebook' "
                        "is VAR's demo_zero_shot_edit.ipynb")
    parser.add_argument('--num', type=int, default=4, help='number of results')
    parser.add_argument('--seed', type=int, default=0, help='seed of the first result')
    parser.add_argument('--out', type=image_output_path, default='edit.png', help='output PNG')
    parser.add_argument('--show-scales', action='store_true', help='one row per scale')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg', type=float, help='guidance scale (default: test_cfg)')
    parser.add_argument('--top-k', type=int, help='top-k (0 disables; default: test_cfg)')
    parser.add_argument('--top-p', type=float, help='top-p (0 disables; default: test_cfg)')
    parser.add_argument('--patch-nums', type=int, nargs='+',
                        help='scale schedule; its last scale sets the resolution')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='config overrides, e.g. model.test_cfg.top_k=100')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with weights_only=False (trusted files only)')
    parser.add_argument('--batch-size', type=positive_int, default=4,
                        help='results per editing call')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    has_region = args.mask is not None or args.box is not None
    if args.mode in ('inpaint', 'edit') and not has_region:
        parser.error(f'--mode {args.mode} needs --mask or --box')
    if args.mode == 'outpaint' and (has_region or not args.pad or args.pad < 1):
        parser.error('--mode outpaint takes --pad N (N >= 1) and no --mask or --box: the '
                     'border is the region to regenerate')
    if args.mode != 'outpaint' and args.pad is not None:
        parser.error('--pad is for --mode outpaint')
    if args.mode == 'edit' and args.label is None:
        parser.error('--mode edit needs --label N (the class to edit to)')
    if args.mode == 'refine' and args.keep_scales is None:
        parser.error('--mode refine needs --keep-scales K (the scales of the image to keep)')
    try:
        check_demo_size(args.num, '--num')
    except ValueError as error:
        parser.error(str(error))
    return args


def read_mask(path: str) -> np.ndarray:
    """(H, W) bool mask of a black-and-white PNG: white (255) or 1 = regenerate."""
    gray = mmcv.imread(path, flag='grayscale')
    if gray is None:  # OpenCV decodes nothing from a file that is not an image
        raise UnreadableImageError(path, 'not an image, or truncated')
    values = set(np.unique(gray).tolist())
    if values <= {0, 255}:
        return gray == 255
    if values <= {0, 1}:
        return gray == 1
    raise ValueError(f'{path} is not a binary mask: it holds the values {sorted(values)[:10]}; '
                     'use black (0) = keep and white (255) = regenerate only')


def prepare(args: argparse.Namespace, size: int) -> Tuple[np.ndarray, np.ndarray]:
    """The input at the model's resolution and its mask: uint8 (S, S, 3), bool (S, S).

    Raises:
        UnreadableImageError: the image or mask file cannot be decoded.
        ValueError: a mask of another size, or a mask or box with nothing to
            regenerate once the image is cropped.
    """
    image = read_rgb_image(args.image, exif_transpose=True)
    H, W = image.shape[:2]
    if args.mask is not None:
        mask = read_mask(args.mask)
        if mask.shape != (H, W):
            raise ValueError(f'the mask {args.mask} is {mask.shape[1]}x{mask.shape[0]} px but '
                             f'the image {args.image} is {W}x{H}: they must match')
    elif args.box is not None:
        mask = box_mask(H, W, args.box)
    else:
        mask = np.ones((H, W), dtype=bool)
    inner = size - 2 * args.pad if args.mode == 'outpaint' else size
    if inner < 1:
        raise ValueError(f'--pad {args.pad} leaves no room for the image at {size}x{size} px')
    if (H, W) != (inner, inner):
        side = min(H, W)
        crop = f'centre-cropped to {side}x{side} and ' if H != W else ''
        where = (f'placed in a {size}x{size} canvas' if inner != size
                 else "the model's resolution")
        print(f'note: the {W}x{H} image is {crop}resized to {inner}x{inner} px ({where})')
        image, mask = fit_square(image, inner), fit_square(mask, inner)
    if not mask.any():
        region = f'the mask {args.mask}' if args.mask is not None else f'--box {args.box}'
        why = ('is all black (black = keep, white = regenerate)' if args.mask is not None
               and not read_mask(args.mask).any() else
               f'lies in the border that the centre crop of the {W}x{H} image to a square '
               f'removes, or is too small to survive the resize to {inner}x{inner} px')
        raise ValueError(f'{region} {why}: nothing would be regenerated')
    if args.mode == 'outpaint':
        image, mask = pad_to_canvas(image, args.pad)
    return image, mask


def resize(images: np.ndarray, side: int, nearest: bool) -> np.ndarray:
    """(N, H, W, C) uint8 or bool -> (N, side, side, C): area (images) or nearest (masks)."""
    t = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2)
    t = F.interpolate(t, size=(side, side), mode='nearest' if nearest else 'area')
    return t.permute(0, 2, 3, 1).round().numpy().astype(images.dtype)


def scale_rows(image: np.ndarray, regenerate: Sequence[torch.Tensor],
               patch_nums: Sequence[int], scale_results: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Per scale: the input, its kept tokens and every result at that scale's size."""
    rows = []
    for grid, pn, results in zip(regenerate, patch_nums, scale_results):
        side = results.shape[1]
        cells = grid.view(1, pn, pn, 1).numpy()  # (1, pn, pn, 1) bool
        mask = resize(cells, side, nearest=True)[..., 0]  # (1, side, side)
        small = resize(image[None], side, nearest=False)  # (1, side, side, 3)
        rows.append(np.concatenate([small, known_region(small, mask), results]))
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    generator = init_demo_generator(args.config, args.checkpoint, device=args.device,
                                    cfg_options=args.cfg_options,
                                    trust_checkpoint=args.trust_checkpoint)
    patch_nums = [int(pn) for pn in (args.patch_nums or generator.sampling.patch_nums)]
    image, mask = prepare(args, patch_nums[-1] * generator.tokenizer.downsample)
    keep_scales = args.keep_scales or 0
    seeds = [args.seed + i for i in range(args.num)]
    label = generator.backbone.num_classes if args.label is None else args.label
    given = dict(cfg=args.cfg, top_k=args.top_k, top_p=args.top_p, patch_nums=args.patch_nums)
    overrides = {key: value for key, value in given.items() if value is not None}
    out = draw_in_batches(
        lambda start, stop: edit_images(
            generator, np.repeat(image[None], stop - start, axis=0),
            np.repeat(mask[None], stop - start, axis=0), label, seeds=seeds[start:stop],
            keep_scales=keep_scales, return_scale_images=args.show_scales,
            edit_protocol=args.edit_protocol, **overrides),
        args.num, args.batch_size)
    if args.show_scales:
        results, scale_results = out
        regenerate = regenerate_per_scale(torch.from_numpy(mask)[None], patch_nums,
                                          generator.tokenizer.downsample, keep_scales,
                                          rule=EDIT_PROTOCOLS[args.edit_protocol])
        final = np.concatenate([image[None], known_region(image[None], mask[None]), results])
        grid = image_grid(final, scale_rows(image, regenerate, patch_nums, scale_results))
    else:
        grid = edit_grid(image[None], mask[None], out[None])
    write_image_file(grid, args.out)
    print_log(f'{args.mode}: {args.num} results (label {label}, seeds {seeds}, '
              f'keep_scales {keep_scales}, {args.edit_protocol}) -> {args.out} '
              f'({grid.shape[1]}x{grid.shape[0]} px)',
              logger='current')
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
