"""Sample from a sar_mm generator and compute FID / IS / precision-recall.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out metrics.json]
        [--save-npz samples.npz] [--save-dir DIR] [--trust-checkpoint PATH ...]
        [--protocol exact|official | --precision fp32|auto|bf16|fp16]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm] [--overwrite] [--debug]
        [--cfg-sweep CFG [CFG ...]]
        [--dry-run [--world-size N] [--nnodes K]]

The config's ``test_dataloader`` (``ClassLabelDataset``: fixed label and seed
per sample index) feeds the model's ``predict`` with its ``test_cfg``
(override with e.g. ``--cfg-options model.test_cfg.cfg=2.2``; ``--precision``
sets ``model.test_cfg.precision``, fp32 by default), and the
``test_evaluator`` (``TorchFidelityMetric``) scores the samples.

``--protocol`` sets the sampling protocol (docs/evaluation_protocols.md)
before ``--cfg-options`` apply: ``exact`` samples in fp32 without TF32, every
sample alone (``model.test_cfg`` precision/tf32/batch_invariant =
fp32/False/True); ``official`` samples as the official ``eval_c2i.py`` of
GengzeZhou/SAR on CUDA: fp16 autocast, TF32 matmuls and convolutions, batches
of 128 per process (fp16/True/False, ``test_dataloader.batch_size=128``). On a
machine without CUDA ``official`` samples batched with the precision policy
(``auto``) instead of fp16 and says so in the log. Without ``--protocol`` the
config decides (the FID-50k configs: fp32, batched on CUDA, per sample on CPU).
The paper's numbers come from the ADM evaluator: score the ``--save-npz``
output with it for numbers comparable with them.

Without ``--save-dir`` / ``--save-npz`` the samples are scored as they are
generated (``Runner.test``). With them (DiT ``sample_ddp.py`` protocol,
docs/method.md §6.2), every sample is first written as ``{sample_idx:06d}.png``
(``--save-dir``, default ``WORK_DIR/samples``); a rerun generates only the
samples whose PNG is missing, so an interrupted run resumes without duplicates.
The finished folder is then scored by the same ``test_evaluator`` and, with
``--save-npz``, packed into ``arr_0`` uint8 (N, H, W, 3) ordered by
``sample_idx``, the OpenAI (ADM) evaluator format.

The checkpoint is loaded strictly (``sar_mm.apis.load_generator_checkpoint``):
a missing or unexpected key or a shape mismatch is an error naming them, as in
``init_generator``. Outputs record what made them (``sar_mm.evaluation.provenance``):
the sample folder in ``sar_mm_samples.json``, the ``.npz`` under
``provenance``, the ``--out`` JSON as ``{"metrics": ..., "provenance": ...}``.
A rerun into an output made with another checkpoint or other sampling settings
refuses and names the differences (a new path, or ``--overwrite``, which first
deletes the folder's samples); with the same ones a sample folder resumes.
Outputs, the reference and the feature-extractor weights are checked before
any sampling. User errors print one line (``--debug``: the traceback).

``--cfg-sweep 2.0 2.2 2.5 3.0`` runs the test once per guidance scale, with
the same label and seed per image for every scale, and writes
``WORK_DIR/cfg_sweep.json`` and ``cfg_sweep.png``
(:mod:`sar_mm.evaluation.cfg_sweep`).

Multi-process: ``tools/dist_test.sh CONFIG CHECKPOINT GPUS [args]``; without a
GPU the processes use a gloo group (CPU).
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import DefaultSampler
from mmengine.dist import (barrier, broadcast_object_list, get_dist_info, is_distributed,
                           is_main_process)
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader

from sar_mm.apis import load_generator_checkpoint
from sar_mm.engine import launch_line, setup_distributed
from sar_mm.evaluation import (SampleFolderDataset, list_sample_indices, pack_sample_folder,
                               prepare_sample_folder)
from sar_mm.evaluation.provenance import check_output_file, make_provenance, with_settings
from sar_mm.evaluation.results_json import finite_metrics, write_results_json
from sar_mm.evaluation.cfg_sweep import run_cfg_sweep
from sar_mm.models.generators.scale_wise_ar import protocol_test_cfg
from sar_mm.registry import DATASETS, RUNNERS
from sar_mm.utils.checkpoint_io import trust_checkpoint_path
from sar_mm.utils.cli_errors import add_debug_flag, report_user_errors, run_cli
from sar_mm.utils.config_validation import check_runner_config
from sar_mm.utils.setup_env import register_all_modules

# Samples per process and batch of the official eval_c2i.py (GengzeZhou/SAR).
OFFICIAL_BATCH_SIZE = 128


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Sample from a sar_mm generator and score it')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for logs (and default sample folder)')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--save-npz', help='pack the samples into this .npz (arr_0, ADM format)')
    parser.add_argument(
        '--save-dir', help='write samples as {sample_idx:06d}.png here (default WORK_DIR/samples '
        'with --save-npz); a rerun only generates the missing ones')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='replace outputs made with another checkpoint or other settings (deletes the '
        'samples of --save-dir)')
    parser.add_argument(
        '--trust-checkpoint', nargs='+', default=[], metavar='PATH',
        help='files or directories whose checkpoints may hold pickled objects (e.g. a '
        'checkpoint written by a sar_mm training run)')
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument('--protocol', choices=['exact', 'official'],
                          help='exact: fp32, no TF32, every sample alone (bit-identical for any '
                          'batch or GPU count); official: fp16 autocast + TF32, batches of 128, '
                          'as eval_c2i.py (CUDA; elsewhere batched with the precision policy). '
                          'Default: the config\'s test_cfg')
    sampling.add_argument('--precision', choices=['fp32', 'auto', 'bf16', 'fp16'],
                          help='sampling precision (model.test_cfg.precision, default fp32 for '
                          'exact per-seed samples); auto = fp16 on CUDA, bf16 on CPUs with '
                          'native bf16, else fp32')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.test_cfg.cfg=2.2')
    parser.add_argument('--cfg-sweep', nargs='+', type=float, metavar='CFG',
                        help='one test per guidance scale (model.test_cfg.cfg), the same seed '
                        'per image for each; writes WORK_DIR/cfg_sweep.json and cfg_sweep.png')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the launch summary for --world-size processes and exit')
    parser.add_argument('--world-size', type=int,
                        help='with --dry-run: processes in all (default $WORLD_SIZE or 1)')
    parser.add_argument('--nnodes', type=int,
                        help='with --dry-run: nodes (default $NNODES or 1)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if not args.dry_run and (args.world_size is not None or args.nnodes is not None):
        parser.error('--world-size and --nnodes describe a --dry-run; a real launch takes '
                     'them from its launcher')
    if args.cfg_sweep and (args.save_dir or args.save_npz):
        parser.error('--cfg-sweep scores the samples as they are generated; it takes no '
                     '--save-dir / --save-npz')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def apply_protocol(cfg: Config, protocol: str, device_type: str) -> None:
    """Set ``model.test_cfg`` (and, for ``official`` on CUDA, the batch) of ``protocol``."""
    settings = protocol_test_cfg(protocol, device_type)
    cfg.merge_from_dict({f'model.test_cfg.{key}': value for key, value in settings.items()})
    if protocol == 'official' and device_type == 'cuda':
        cfg.merge_from_dict({'test_dataloader.batch_size': OFFICIAL_BATCH_SIZE})
    print_log(f'sampling protocol {protocol} on {device_type}: ' +
              ', '.join(f'{key}={value}' for key, value in settings.items()), logger='current')


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    if args.protocol is not None:
        apply_protocol(cfg, args.protocol, 'cuda' if torch.cuda.is_available() else 'cpu')
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.precision is not None:
        cfg.merge_from_dict({'model.test_cfg.precision': args.precision})
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded strictly by build_runner, not by MMEngine (strict=False)
    cfg.resume = False
    cfg.launcher = args.launcher
    return cfg


def dry_run_summary(cfg: Config, world_size: int, nnodes: int) -> str:
    """The launch line of an evaluation on ``world_size`` processes."""
    loader = cfg.test_dataloader
    dataset = loader.dataset
    details = f'per-GPU batch {loader.batch_size}'
    if {'num_classes', 'samples_per_class'} <= set(dataset):
        num_samples = dataset.num_classes * dataset.samples_per_class
        details += (f', {num_samples} samples ({math.ceil(num_samples / world_size)} per '
                    'process)')
    return launch_line(world_size, nnodes, details)


def build_runner(cfg: Config, checkpoint: str) -> Runner:
    """The config's runner, with ``checkpoint`` loaded strictly into its model."""
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    load_generator_checkpoint(model, checkpoint)  # trusted paths: trust_checkpoint_path
    return runner


def output_settings(cfg: Config) -> dict:
    """What decides the samples: the model (with its sampling ``test_cfg``) and the labels
    and seeds of the test dataset."""
    dataset = {key: value for key, value in cfg.test_dataloader.dataset.items()
               if key != 'indices'}
    return dict(model=cfg.model.to_dict(), test_dataset=dataset)


def on_main_rank(function, *args):
    """``function(*args)`` run on rank 0 and shared; its exception is raised on every rank."""
    outcome = [None, None]
    if is_main_process():
        try:
            outcome = [function(*args), None]
        except Exception as caught:  # noqa: B902 - re-raised below, on every rank
            outcome = [None, caught]
    broadcast_object_list(outcome)
    if outcome[1] is not None:
        raise outcome[1]
    return outcome[0]


def prepare_outputs(cfg: Config, args: argparse.Namespace, save_dir: Optional[str]) -> dict:
    """Check every output before any sampling; record the sample folder's settings.

    Returns:
        The provenance of the ``.npz`` and the sample folder (``'samples'``) and of
        the metrics (``'metrics'``, which adds the evaluator).
    """
    samples = make_provenance('tools/test.py', output_settings(cfg), args.checkpoint,
                              config=args.config)
    metrics = with_settings(samples, test_evaluator=cfg.get('test_evaluator'))
    if args.out is not None:
        check_output_file(args.out, metrics, args.overwrite, '--out')
    if args.save_npz is not None:
        check_output_file(args.save_npz, samples, args.overwrite, '--save-npz')
    if save_dir is not None:
        prepare_sample_folder(save_dir, samples, args.overwrite)
    return dict(samples=samples, metrics=metrics)


def missing_sample_indices(save_dir: str, num_samples: int) -> List[int]:
    """Indices without a PNG, listed on rank 0 and shared with every rank."""
    missing = [None]
    if is_main_process():
        done = set(list_sample_indices(save_dir))
        missing = [[i for i in range(num_samples) if i not in done]]
    broadcast_object_list(missing)
    return missing[0]


def score_folder(cfg: Config, evaluator: Evaluator, save_dir: str, num_samples: int) -> dict:
    """Run ``evaluator`` (the config's ``test_evaluator``) over the finished sample folder.

    Every rank scores its share (``DefaultSampler``); the metric collects and
    deduplicates by ``sample_idx``.
    """
    dataset = SampleFolderDataset(save_dir, range(num_samples))
    loader = DataLoader(
        dataset,
        batch_size=cfg.test_dataloader.get('batch_size', 1),
        sampler=DefaultSampler(dataset, shuffle=False),
        num_workers=cfg.test_dataloader.get('num_workers', 0),
        collate_fn=list)
    progress = ProgressBar(len(loader)) if is_main_process() else None
    for batch in loader:
        evaluator.process(data_samples=batch)
        if progress is not None:
            progress.update()
    return evaluator.evaluate(len(dataset))


def sample_to_folder(cfg: Config, save_dir: str, checkpoint: str) -> int:
    """Generate every missing sample of the test dataset into ``save_dir``.

    Returns:
        The number of samples of the (full) test dataset.
    """
    dataset_cfg = cfg.test_dataloader.dataset
    if dataset_cfg.get('indices') is not None:
        raise ValueError('--save-dir/--save-npz select the samples to generate themselves; '
                         'remove test_dataloader.dataset.indices from the config')
    num_samples = len(DATASETS.build(copy.deepcopy(dataset_cfg)))
    missing = missing_sample_indices(save_dir, num_samples)
    print_log(f'{num_samples - len(missing)} of {num_samples} samples already in {save_dir}; '
              f'generating {len(missing)}', logger='current')
    if missing:
        gen_cfg = copy.deepcopy(cfg)
        gen_cfg.test_dataloader.dataset.indices = missing
        gen_cfg.test_evaluator = dict(type='SampleImageWriter', save_dir=save_dir)
        build_runner(gen_cfg, checkpoint).test()
    barrier()
    return num_samples


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; returns the metrics (on every rank). A user error exits with one line."""
    args = parse_args(argv)
    with report_user_errors(args.debug):
        return evaluate(args)


def evaluate(args: argparse.Namespace) -> dict:
    """Sample and score as ``args`` ask; returns the metrics (on every rank)."""
    register_all_modules(init_default_scope=False)
    cfg = merge_args(Config.fromfile(args.config), args)
    check_runner_config(cfg)  # misspelt keys and unregistered types fail before any work
    if args.dry_run:
        world_size = args.world_size or int(os.environ.get('WORLD_SIZE', 1))
        try:
            print(dry_run_summary(cfg, world_size, args.nnodes or int(os.environ.get('NNODES', 1))),
                  flush=True)
        except ValueError as error:
            sys.exit(f'error: {error}')
        return {}
    trust_checkpoint_path(cfg.work_dir)
    for path in args.trust_checkpoint:
        trust_checkpoint_path(path)

    save_dir = args.save_dir
    if save_dir is None and args.save_npz is not None:
        save_dir = osp.join(cfg.work_dir, 'samples')

    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file {args.checkpoint} not found')
    setup_distributed(cfg, args.launcher)  # the process group first, on GPUs and CPUs
    init_default_scope(cfg.get('default_scope', 'sar_mm'))
    # built before anything is sampled or written: a missing or unusable reference or
    # feature-extractor weight file fails now, not after hours of sampling (streaming
    # mode checks it here; its Runner builds its own)
    evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator)) if cfg.get('test_evaluator') \
        else None
    provenance = on_main_rank(prepare_outputs, cfg, args, save_dir)
    if args.cfg_sweep:
        metrics = run_cfg_sweep(
            cfg, args.cfg_sweep, lambda run_cfg: build_runner(run_cfg, args.checkpoint).test())
    elif save_dir is None:
        metrics = build_runner(cfg, args.checkpoint).test()
    else:
        num_samples = sample_to_folder(cfg, save_dir, args.checkpoint)
        metrics = {} if evaluator is None else score_folder(cfg, evaluator, save_dir, num_samples)
        if args.save_npz is not None and is_main_process():
            shape = pack_sample_folder(save_dir, args.save_npz, range(num_samples),
                                       provenance['samples'])
            print_log(f'wrote {args.save_npz}: arr_0 {shape}', logger='current')
        barrier()

    rank, _ = get_dist_info()
    if rank == 0:
        print_log(f'metrics:\n{json.dumps(finite_metrics(metrics), indent=2)}', logger='current')
        if args.out is not None:
            write_results_json(args.out, metrics, provenance['metrics'])
    if is_distributed():
        # every rank leaves together and tears the group down itself; a rank whose
        # interpreter exited with the gloo group alive was seen to abort (SIGABRT)
        barrier()
        torch.distributed.destroy_process_group()
    return metrics


if __name__ == '__main__':
    sys.exit(run_cli(main))
