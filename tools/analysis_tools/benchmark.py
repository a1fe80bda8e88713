"""Speed, FLOP efficiency and peak memory of training, sampling and the tokenizer.

Usage::

    python tools/analysis_tools/benchmark.py CONFIG [--what train,sample,tokenizer]
        [--batch-size N] [--dtype auto|fp32|bf16|fp16] [--iters K] [--warmup W]
        [--json OUT] [--device cpu|cuda] [--threads T] [--peak-size S]
        [--cfg-options k=v ...]

Every phase runs ``--warmup`` untimed then ``--iters`` timed iterations on the
config's model (random weights: speed does not depend on them) at the
sampling schedule ``model.test_cfg.patch_nums`` and the resolution it implies
(``patch_nums[-1] * tokenizer.downsample``). The phases are timed by
:mod:`sar_mm.benchmarking` (:func:`~sar_mm.benchmarking.time_train_steps`,
:func:`~sar_mm.benchmarking.time_sampling`), which ``gpu_check.py`` uses too:

* ``train_tf``: one teacher-forcing training step, ``model.train_step`` with
  the config's optim wrapper (``mmengine.optim.build_optim_wrapper``: the
  config's optimizer, clipping and wrapper, AdamW without one): forward, loss,
  backward and the optimizer update, on the tokenizer latents of the batch
  (``data_samples['latents']``: the step quantises them; the encoder is the
  tokenizer's phase);
* ``train_sar``: the same with SAR's stagger-scale rollout: the config's rollout
  and loss if it is a ``StaggerScaleRollout``, else that class's defaults (the
  effective official recipe) with ``ContrastiveStudentForcingLoss``. The
  timed TF and SAR steps alternate (one of each per round, after at least one
  warm-up step each, over which the peak memory is read), and
  ``sar_over_tf`` is the median over rounds of SAR time / TF time of the same
  round (``sar_over_tf_rounds``), so that the machine's speed drifting during
  the run does not bias it;
* ``sample``: ``model.generate`` (CFG, KV cache, decoding included), in
  images per second;
* ``tokenizer_encode`` / ``tokenizer_decode``: ``img_to_idx`` and ``decode_idx``.

``--dtype auto`` (the default) takes sar_mm's precision policy
(:func:`sar_mm.utils.precision.resolve_precision`): fp16 on CUDA, bf16 on a CPU
that runs bf16 matrix products natively, fp32 on any other CPU; the report's
``dtype`` is the one that ran (``dtype_requested``, ``precision_reason``).
Training autocasts through ``SkipNonFiniteAmpOptimWrapper`` (which a plain
wrapper becomes for bf16 / fp16, as with ``tools/train.py --amp``; fp16 with
loss scaling, GPU only), sampling through its ``precision`` setting, the
tokenizer under the precision's autocast. The dense ``S x S`` matmul throughput
of the same dtype is measured first (once per run); each phase reports its
analytic FLOPs (:mod:`sar_mm.benchmarking.flop_count`: the transformer's for
the training steps) per second and as a fraction of it. Peak memory: resident
set size on the CPU, ``max_memory_allocated`` on the GPU. Prints a table;
``--json`` also writes every number.
"""
import argparse
import copy
import dataclasses
import json
import os
import platform
import statistics
import sys
from typing import Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper

from sar_mm.benchmarking import (PeakMemory, PhaseTiming, TrainRecipe, matmul_flops_per_s,
                                 time_calls, time_sampling, time_train_steps, vq16_decode_flops,
                                 vq16_dims, vq16_encode_flops)
from sar_mm.models.losses import ContrastiveStudentForcingLoss, ScaleCrossEntropyLoss
from sar_mm.models.rollouts import StaggerScaleRollout, TeacherForcing
from sar_mm.models.utils.scale_layout import num_tokens
from sar_mm.models.utils.scale_schedule import FixedScaleSchedule
from sar_mm.registry import MODELS
from sar_mm.utils.cli_errors import add_debug_flag, run_cli
from sar_mm.utils.precision import Precision, resolve_precision
from sar_mm.utils.setup_env import register_all_modules

PHASE_GROUPS = ('train', 'sample', 'tokenizer')
DTYPE_CHOICES = ('auto', 'fp32', 'bf16', 'fp16')  # names resolve_precision takes
# the optimizer of configs without an optim_wrapper
DEFAULT_OPTIM_WRAPPER = dict(type='OptimWrapper',
                             optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.95)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a sar_mm generator config')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--what', default='train,sample,tokenizer',
                        help=f'comma-separated phase groups out of {",".join(PHASE_GROUPS)}')
    parser.add_argument('--batch-size', type=int, default=2, help='batch of every phase')
    parser.add_argument('--dtype', choices=DTYPE_CHOICES, default='auto',
                        help='auto (the precision policy: fp16 on GPU, bf16 on CPUs with native '
                        'bf16, else fp32), fp32, or autocast to bf16 / fp16 (fp16: GPU only)')
    parser.add_argument('--iters', type=int, default=3, help='timed iterations per phase')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed iterations per phase (training steps: at least 1)')
    parser.add_argument('--json', dest='json_out', help='write the results to this file')
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda if present)')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--peak-size', type=int, default=4096,
                        help='side of the square matmul that measures the peak')
    parser.add_argument('--seed', type=int, default=0, help='seed of weights and inputs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. model.backbone.depth=2')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    groups = [g for g in args.what.split(',') if g]
    unknown = sorted(set(groups) - set(PHASE_GROUPS))
    if unknown or not groups:
        parser.error(f'--what takes phase groups out of {PHASE_GROUPS}, got {args.what!r}')
    args.groups = groups
    if args.iters < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('need --iters >= 1, --warmup >= 0 and --batch-size >= 1')
    return args


def optim_wrapper_cfg(cfg: Config, precision: Precision) -> dict:
    """The config's ``optim_wrapper`` (AdamW without one) computing in ``precision``.

    Like ``tools/train.py --amp``, a ``SkipNonFiniteOptimWrapper`` (or MMEngine's
    default ``OptimWrapper``) becomes a ``SkipNonFiniteAmpOptimWrapper`` for a
    dtype other than float32; an Amp wrapper takes the dtype as it is.
    """
    wrapper = copy.deepcopy(cfg.get('optim_wrapper') or DEFAULT_OPTIM_WRAPPER)
    kind = wrapper.get('type', 'OptimWrapper')
    if kind == 'SkipNonFiniteAmpOptimWrapper' or precision.autocast_enabled:
        if kind not in ('OptimWrapper', 'SkipNonFiniteOptimWrapper',
                        'SkipNonFiniteAmpOptimWrapper'):
            raise ValueError(f'--dtype {precision.name} needs an OptimWrapper, '
                             'SkipNonFiniteOptimWrapper or SkipNonFiniteAmpOptimWrapper; the '
                             f'config uses {kind}')
        wrapper.update(type='SkipNonFiniteAmpOptimWrapper', dtype=precision.name,
                       device_type=precision.device_type)
    return wrapper


def _rollout_settings(rollout: object) -> Dict:
    settings = {k: v for k, v in vars(rollout).items() if isinstance(v, (int, float, str, bool))}
    selector = getattr(rollout, 'selector', None)
    if selector is not None:
        settings.update(token_selection=selector.mode, top_k=selector.top_k, top_p=selector.top_p)
    return dict(type=type(rollout).__name__, **settings)


def bench_train(model, cfg: Config, args, precision: Precision, image_size: int) -> Dict:
    """``train_tf``, ``train_sar`` and ``sar_over_tf_rounds``: ``model.train_step`` timed."""
    B, device = args.batch_size, next(model.backbone.parameters()).device
    images = torch.rand(B, 3, image_size, image_size, device=device) * 2 - 1
    with torch.no_grad():  # the encoder stays out of the step: it is the tokenizer's phase
        latents = model.tokenizer.encode_latent(images)
    data = dict(inputs=None, data_samples=dict(
        labels=torch.randint(0, model.backbone.num_classes, (B, ), device=device),
        latents=latents))
    wrapper = build_optim_wrapper(model, optim_wrapper_cfg(cfg, precision))
    own = TrainRecipe(model.rollout, model.loss_module)
    if isinstance(model.rollout, StaggerScaleRollout):
        recipes = dict(train_tf=TrainRecipe(TeacherForcing(), ScaleCrossEntropyLoss()),
                       train_sar=own)
    else:
        recipes = dict(train_tf=own, train_sar=TrainRecipe(StaggerScaleRollout(),
                                                           ContrastiveStudentForcingLoss()))
    timed = time_train_steps(model, wrapper, data, recipes, args.iters, args.warmup,
                             args.peak_size)
    results = {name: dict(phase.to_dict(), rollout=_rollout_settings(recipes[name].rollout),
                          optimizer=type(wrapper.optimizer).__name__)
               for name, phase in timed.items()}
    results['sar_over_tf_rounds'] = [sar / tf for tf, sar in zip(
        timed['train_tf'].time_s.samples, timed['train_sar'].time_s.samples)]
    return results


def bench_sample(model, args, precision: Precision) -> Dict:
    """``sample``: batched class-conditional generation with the config's ``test_cfg``."""
    device = next(model.backbone.parameters()).device
    labels = torch.arange(args.batch_size, device=device) % model.backbone.num_classes
    generator = torch.Generator(device=device).manual_seed(args.seed)
    # the sampler's own precision switch: an outer autocast would be turned off
    # by the model's numerics.precision (test_cfg.precision, fp32 by default)
    timed = time_sampling(model, labels, args.iters, args.warmup, generator=generator,
                          peak_size=args.peak_size, precision=precision.name)
    test_cfg = dict(dataclasses.asdict(model.sampling), **dataclasses.asdict(model.numerics))
    del test_cfg['patch_nums']
    test_cfg['precision'] = precision.name
    return dict(sample=dict(timed.to_dict(), test_cfg=test_cfg))


def bench_tokenizer(model, args, precision: Precision, patch_nums, image_size) -> Dict:
    """``tokenizer_encode`` (``img_to_idx``) and ``tokenizer_decode`` (``decode_idx``)."""
    B, tok, device = args.batch_size, model.tokenizer, next(model.backbone.parameters()).device
    images = torch.rand(B, 3, image_size, image_size, device=device) * 2 - 1
    vae = vq16_dims(tok)
    peak = matmul_flops_per_s(precision.dtype, device, args.peak_size)
    results = {}

    def timed(fn, flops: Optional[int]) -> Dict:
        with PeakMemory(device) as memory:
            stats = time_calls(fn, args.iters, args.warmup, device)
        return PhaseTiming(time_s=stats, items=B, flops=flops, precision=precision,
                           matmul_peak=peak, peak_memory=memory).to_dict()

    with torch.no_grad(), precision.autocast():
        idx_list = tok.img_to_idx(images, patch_nums)
        results['tokenizer_encode'] = timed(
            lambda: tok.img_to_idx(images, patch_nums),
            None if vae is None else B * vq16_encode_flops(vae, image_size, patch_nums))
        results['tokenizer_decode'] = timed(
            lambda: tok.decode_idx(idx_list, patch_nums),
            None if vae is None else B * vq16_decode_flops(vae, patch_nums[-1]))
    return results


def format_table(report: Dict) -> str:
    """One line per phase: median, spread, items/s, GFLOP/s, % of peak, peak memory."""
    head = (f'{"phase":<18}{"median_s":>10}{"spread":>8}{"items/s":>10}{"GFLOP/s":>10}'
            f'{"%peak":>8}{"peak_MiB":>10}')
    lines = [head]
    for name, ph in report['phases'].items():
        gflops = '-' if ph['flops_per_s'] is None else f'{ph["flops_per_s"] / 1e9:.1f}'
        frac = '-' if ph['peak_fraction'] is None else f'{100 * ph["peak_fraction"]:.1f}'
        lines.append(f'{name:<18}{ph["time_s"]["median"]:>10.3f}{ph["time_s"]["spread"]:>8.2f}'
                     f'{ph["items_per_s"]:>10.3f}{gflops:>10}{frac:>8}'
                     f'{ph["peak_memory_bytes"] / 2**20:>10.0f}')
    lines.append(f'matmul peak ({report["dtype"]}, {report["matmul_peak"]["size"]}^3): '
                 f'{report["matmul_peak"]["flops_per_s"] / 1e9:.1f} GFLOP/s')
    if report.get('sar_over_tf') is not None:
        lines.append(f'SAR step / TF step: {report["sar_over_tf"]:.3f}')
    return '\n'.join(lines)


def run(args: argparse.Namespace) -> Dict:
    """Build the model, run the selected phases and return the report."""
    device = torch.device(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    precision = resolve_precision(args.dtype, device.type)
    print(precision.describe(), flush=True)
    if precision.dtype == torch.float16 and device.type != 'cuda':
        raise ValueError('--dtype fp16 (autocast with loss scaling) is for the GPU; use bf16 '
                         'on the CPU')
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model).to(device)
    patch_nums = list(model.sampling.patch_nums)
    # every training step runs the sampling schedule: the same work each time
    model.scale_schedule = FixedScaleSchedule(patch_nums)
    image_size = patch_nums[-1] * model.tokenizer.downsample

    report = dict(
        config=args.config, cfg_options=args.cfg_options or {}, device=str(device),
        device_name=(torch.cuda.get_device_name(device) if device.type == 'cuda'
                     else platform.processor() or platform.machine()),
        dtype=precision.name, dtype_requested=args.dtype, precision_reason=precision.reason,
        batch_size=args.batch_size, iters=args.iters, warmup=args.warmup,
        threads=torch.get_num_threads(), torch=torch.__version__,
        load_avg_before=list(os.getloadavg()), patch_nums=patch_nums,
        num_tokens=num_tokens(patch_nums), image_size=image_size,
        matmul_peak=dict(size=args.peak_size, flops_per_s=matmul_flops_per_s(
            precision.dtype, device, args.peak_size)),
        phases={}, sar_over_tf=None)
    if 'train' in args.groups:
        report['phases'].update(bench_train(model, cfg, args, precision, image_size))
        rounds = report['phases'].pop('sar_over_tf_rounds')
        report['sar_over_tf_rounds'] = rounds
        report['sar_over_tf'] = statistics.median(rounds)
    if 'sample' in args.groups:
        report['phases'].update(bench_sample(model, args, precision))
    if 'tokenizer' in args.groups:
        report['phases'].update(bench_tokenizer(model, args, precision, patch_nums, image_size))
    report['load_avg_after'] = list(os.getloadavg())
    return report


def main(argv: Optional[List[str]] = None) -> Dict:
    args = parse_args(argv)
    report = run(args)
    print('\n' + format_table(report))  # the table is the tool's output
    if args.json_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    sys.exit(run_cli(main))
