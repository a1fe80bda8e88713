"""Train a sar_mm generator with the MMEngine Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp]
        [--auto-scale-lr] [--trust-checkpoint PATH ...] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm]

Multi-process: ``tools/dist_train.sh`` (torchrun) and ``tools/slurm_train.sh``.
Without a GPU, distributed runs use a gloo process group (CPU DDP).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from sar_mm.engine import find_resumable_checkpoint, setup_distributed, trust_checkpoint_path
from sar_mm.registry import RUNNERS
from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a sar_mm generator')
    parser.add_argument('config', help='training config file')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a value (or "auto"), from the latest '
        'complete checkpoint of the work directory, or start from the config\'s load_from if '
        'none')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + loss scaling on GPU, bf16 on CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (global batch) / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--trust-checkpoint', nargs='+', default=[], metavar='PATH',
        help='files or directories whose checkpoints may hold pickled objects (e.g. a '
        'load_from written by another sar_mm run); the work directory is always trusted')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=2 optim_wrapper.optimizer.lr=1e-4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local_rank (older) or --local-rank (newer)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config (OpenMMLab conventions)."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if optim_wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs OptimWrapper or AmpOptimWrapper, the config uses '
                             f'{optim_wrapper.type}')
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.resume == 'auto':
        # the newest checkpoint that loads, not a file truncated by a crash
        latest = find_resumable_checkpoint(cfg.work_dir)
        if latest is not None:
            cfg.resume, cfg.load_from = True, latest
        else:
            # MMEngine's own auto-resume would also drop load_from (the initial
            # weights of SAR post-training) when there is nothing to resume.
            print_log(f'--resume auto: no checkpoint in {cfg.work_dir}; starting from '
                      f'load_from={cfg.get("load_from")}', logger='current')
            cfg.resume = False
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    check_runner_config(cfg)  # misspelt keys and unregistered types fail before any work

    # Checkpoints this run writes or resumes may hold pickled objects (message hub).
    trust_checkpoint_path(cfg.work_dir)
    if cfg.get('resume') and cfg.get('load_from'):
        trust_checkpoint_path(cfg.load_from)
    for path in args.trust_checkpoint:
        trust_checkpoint_path(path)

    setup_distributed(cfg, args.launcher)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
