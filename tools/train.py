"""Train a sar_mm generator with the MMEngine Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|PATH]] [--amp]
        [--auto-scale-lr] [--trust-checkpoint PATH ...] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm] [--dry-run [--world-size N] [--nnodes K]] [--debug]

Multi-process: ``tools/dist_train.sh`` (torchrun) and ``tools/slurm_train.sh``.
The config's ``train_dataloader.global_batch_size`` is split over the ranks
(:mod:`sar_mm.engine.batch_plan`); rank 0 logs the launch summary.
``--dry-run`` prints that summary for ``--world-size`` ranks, and the lr after
auto-scaling, and exits without training. A config for GPUs (NCCL) refuses to
start distributed without CUDA; ``env_cfg.dist_cfg.backend=gloo`` trains on
CPUs (CPU DDP). The config's ``train_numerics`` (TF32, cuDNN benchmark and
deterministic) is set once at start-up (:mod:`sar_mm.engine.train_numerics`).

The config is checked before anything is built (unknown keys, types and
arguments, :func:`~sar_mm.utils.config_validation.check_runner_config`); a user
error ends the run with a one-line message (``--debug``: the traceback).
"""
import argparse
import os
import os.path as osp
import sys

from typing import List, Optional

from mmengine.config import Config, DictAction
from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.logging import print_log
from mmengine.runner import Runner

from sar_mm.engine import (BatchPlan, apply_batch_plan, find_resumable_checkpoint,
                           launch_summary, plan_train_batch, setup_distributed,
                           setup_train_numerics)
from sar_mm.registry import RUNNERS
from sar_mm.utils.checkpoint_io import is_trusted_checkpoint, trust_checkpoint_path
from sar_mm.utils.cli_errors import add_debug_flag, positive_int, run_cli
from sar_mm.utils.config_validation import check_cfg_options, check_runner_config
from sar_mm.utils.setup_env import register_all_modules


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
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
                        help='scale the lr by (global batch, gradient accumulation included) / '
                        'auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--trust-checkpoint', nargs='+', default=[], metavar='PATH',
        help='files or directories whose checkpoints may hold pickled objects (a load_from '
        'written by another sar_mm run, a --resume PATH outside the work directory); the work '
        'directory is always trusted')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_epochs=2 optim_wrapper.optimizer.lr=1e-4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='job launcher')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the launch summary (world size, per-GPU batch, global batch, lr after '
        'auto-scaling) for --world-size processes and exit without training')
    parser.add_argument('--world-size', type=positive_int,
                        help='with --dry-run: processes in all (default $WORLD_SIZE or 1)')
    parser.add_argument('--nnodes', type=positive_int,
                        help='with --dry-run: nodes (default $NNODES or 1)')
    # torch.distributed.launch passes --local_rank (older) or --local-rank (newer)
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.resume not in (None, 'auto') and osp.isdir(args.resume):
        parser.error(f'--resume {args.resume} is a directory: pass a checkpoint file, or '
                     '--resume auto for the newest checkpoint of the work directory')
    if not args.dry_run and (args.world_size is not None or args.nnodes is not None):
        parser.error('--world-size and --nnodes describe a --dry-run; a real launch takes '
                     'them from its launcher')
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
        if optim_wrapper.get('type') not in ('SkipNonFiniteOptimWrapper',
                                             'SkipNonFiniteAmpOptimWrapper'):
            raise ValueError('--amp needs SkipNonFiniteOptimWrapper or '
                             'SkipNonFiniteAmpOptimWrapper, the config uses '
                             f'{optim_wrapper.get("type")}')
        optim_wrapper.type = 'SkipNonFiniteAmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True

    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    return cfg


def choose_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply ``--resume``; rank 0 picks the checkpoint and every rank takes its choice.

    Ranks that looked at the work directory on their own could pick different
    files (one written or removed between their looks, or a file system that
    shows it late); the process group exists by now, so the choice is broadcast.
    """
    if resume is None:
        return
    if resume != 'auto':
        cfg.resume, cfg.load_from = True, resume
        return
    rank, world_size = get_dist_info()
    # the newest checkpoint that loads, not a file truncated by a crash
    choice = [find_resumable_checkpoint(cfg.work_dir) if rank == 0 else None]
    if world_size > 1:
        broadcast_object_list(choice, src=0)
    latest = choice[0]
    if latest is not None:
        cfg.resume, cfg.load_from = True, latest
    else:
        # MMEngine's own auto-resume would also drop load_from (the initial
        # weights of SAR post-training) when there is nothing to resume.
        print_log(f'--resume auto: no checkpoint in {cfg.work_dir}; starting from '
                  f'load_from={cfg.get("load_from")}', logger='current')
        cfg.resume = False


def check_resume_trusted(cfg: Config) -> None:
    """A checkpoint resumed from outside the work directory must be trusted explicitly.

    Resumed checkpoints hold pickled objects (the message hub), so they are
    loaded with ``weights_only=False``; only the work directory is trusted
    implicitly. Call after the work directory and ``--trust-checkpoint`` paths
    are trusted.

    Raises:
        ValueError: ``--resume PATH`` outside the work directory and not under a
            ``--trust-checkpoint`` path.
    """
    if cfg.get('resume') and cfg.get('load_from') and not is_trusted_checkpoint(cfg.load_from):
        raise ValueError(
            f'--resume {cfg.load_from}: the file lies outside the work directory '
            f'{cfg.work_dir}, and a resumed checkpoint is unpickled with weights_only=False; '
            f'if you trust it, add --trust-checkpoint {cfg.load_from}')


def _nnodes(world_size: int) -> int:
    """Nodes of a running launch (torchrun's LOCAL_WORLD_SIZE, or Slurm's node count)."""
    per_node = os.environ.get('LOCAL_WORLD_SIZE')
    if per_node:
        return max(1, world_size // int(per_node))
    return int(os.environ.get('SLURM_NNODES', 1))


def dry_run(cfg: Config, args: argparse.Namespace) -> BatchPlan:
    """Print what a launch on ``--world-size`` processes would train with."""
    world_size = (args.world_size if args.world_size is not None
                  else int(os.environ.get('WORLD_SIZE', 1)))
    nnodes = args.nnodes if args.nnodes is not None else int(os.environ.get('NNODES', 1))
    plan = plan_train_batch(cfg, world_size, nnodes)
    print(launch_summary(plan), flush=True)
    return plan


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    check_cfg_options(cfg, args.cfg_options, for_runner=True)
    cfg = merge_args(cfg, args)
    # misspelt keys and arguments, unregistered types fail before any work
    check_runner_config(cfg)
    if args.dry_run:
        dry_run(cfg, args)
        return 0

    setup_distributed(cfg, args.launcher)
    setup_train_numerics(cfg)  # TF32 / cuDNN flags of the whole run (config's train_numerics)
    rank, world_size = get_dist_info()
    plan = apply_batch_plan(cfg, world_size, _nnodes(world_size))
    if rank == 0:
        print_log(launch_summary(plan), logger='current')
    choose_resume(cfg, args.resume)

    # Checkpoints this run writes or resumes hold pickled objects (message hub):
    # the work directory is trusted, any other file only through --trust-checkpoint.
    trust_checkpoint_path(cfg.work_dir)
    for path in args.trust_checkpoint:
        trust_checkpoint_path(path)
    try:
        check_resume_trusted(cfg)
    except ValueError as error:  # a user error, before any model is built
        sys.exit(f'error: {error}')

    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
