"""Per-scale loss and token accuracy under teacher-forced versus rolled-out inputs.

Usage::

    python tools/analysis_tools/exposure_bias.py CONFIG CHECKPOINT
        [--num-images 256] [--modes chain one_step] [--batch-size 64]
        [--out-dir DIR] [--trust-checkpoint] [--cfg-options k=v ...]

Takes the first ``--num-images`` items of the config's ``train_dataloader``
dataset, run through its pipeline (seeded, so random flips and crops repeat;
for a ``LatentDataset``, the images of its ``source``, not flipped),
tokenises them with the generator's tokenizer on its ``test_cfg.patch_nums``
schedule and measures, for every scale, the cross-entropy and arg-max token
accuracy against the ground-truth tokens with teacher-forced inputs and with
the model's own rolled-out inputs
(:func:`sar_mm.evaluation.exposure_bias.measure_exposure_bias`; ``chain``:
the inference regime from the first scale on; ``one_step``: each scale from
the teacher-forced pass's previous-scale tokens). Prints one table per mode
and writes ``exposure_bias.json`` and ``exposure_bias.png`` to ``--out-dir``
(default ``work_dirs/exposure_bias/<config name>``).

Use ``--cfg-options`` to pick other images, e.g.
``train_dataloader.dataset.seed=3`` for the synthetic shapes.
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.logging import print_log
from mmengine.runner import set_random_seed

from sar_mm.apis import init_generator, latent_source_config
from sar_mm.evaluation.exposure_bias import (EXPOSURE_BIAS_MODES, format_exposure_bias_table,
                                             measure_exposure_bias, plot_exposure_bias)
from sar_mm.models.data_preprocessors.generator_data_preprocessor import to_symmetric_range
from sar_mm.registry import DATASETS
from sar_mm.utils.cli_errors import add_debug_flag, run_cli
from sar_mm.utils.config_validation import check_cfg_options
from sar_mm.utils.setup_env import register_all_modules


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Teacher-forced versus rolled-out loss and accuracy per scale')
    parser.add_argument('config', help='config file (its model and train_dataloader.dataset)')
    parser.add_argument('checkpoint', help='generator weights')
    parser.add_argument('--num-images', type=int, default=256, help='images to measure on')
    parser.add_argument('--modes', nargs='+', default=list(EXPOSURE_BIAS_MODES),
                        choices=EXPOSURE_BIAS_MODES, help='rolled-out regimes')
    parser.add_argument('--batch-size', type=int, default=64, help='images per forward')
    parser.add_argument('--seed', type=int, default=0, help='seed of the data pipeline')
    parser.add_argument('--out-dir', help='where the json and the plot go')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load a tools/train.py checkpoint (pickles more than tensors)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    add_debug_flag(parser)
    return parser.parse_args(argv)


def load_images(cfg: Config, num_images: int, seed: int) -> tuple:
    """The first ``num_images`` items of ``train_dataloader.dataset`` as model inputs.

    Returns:
        tuple: float (N, 3, H, W) in [-1, 1] and int64 (N,) labels.
    """
    dataset_cfg = cfg.train_dataloader.dataset
    if dataset_cfg.get('type') == 'LatentDataset':  # the images its latents come from
        source, pipeline, _ = latent_source_config(dataset_cfg.to_dict())
        dataset_cfg = dict(source, pipeline=pipeline)
    dataset = DATASETS.build(dataset_cfg)
    if num_images < 1 or num_images > len(dataset):
        raise ValueError(f'--num-images must be in [1, {len(dataset)}], got {num_images}')
    set_random_seed(seed)  # random flips / crops of the pipeline (NumPy, random, torch)
    batch = default_collate([dataset[i] for i in range(num_images)])
    return to_symmetric_range(batch['inputs']), batch['data_samples']['labels'].long()


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    check_cfg_options(cfg, args.cfg_options, for_runner=False)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = Path(args.out_dir or osp.join('work_dirs', 'exposure_bias',
                                            osp.splitext(osp.basename(args.config))[0]))
    out_dir.mkdir(parents=True, exist_ok=True)
    generator = init_generator(cfg, args.checkpoint, device=args.device,
                               trust_checkpoint=args.trust_checkpoint)
    images, labels = load_images(cfg, args.num_images, args.seed)
    print_log(f'measuring on {len(images)} images, schedule {list(generator.sampling.patch_nums)}',
              logger='current')
    results = {mode: measure_exposure_bias(generator, images, labels, mode=mode,
                                           batch_size=args.batch_size)
               for mode in args.modes}
    for result in results.values():
        print(format_exposure_bias_table(result) + '\n')
    (out_dir / 'exposure_bias.json').write_text(json.dumps(results, indent=1))
    plot_exposure_bias(results, str(out_dir / 'exposure_bias.png'))
    print_log(f'wrote {out_dir / "exposure_bias.json"} and {out_dir / "exposure_bias.png"}',
              logger='current')


if __name__ == '__main__':
    sys.exit(run_cli(main))
