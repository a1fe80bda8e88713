"""Speed, FLOP efficiency and peak memory of training, sampling and the tokenizer.

Usage::

    python tools/analysis_tools/benchmark.py CONFIG [--what train,sample,tokenizer]
        [--batch-size N] [--dtype auto|fp32|bf16|fp16] [--iters K] [--warmup W]
        [--json OUT] [--device cpu|cuda] [--threads T] [--peak-size S]
        [--cfg-options k=v ...]

Every phase runs ``--warmup`` untimed then ``--iters`` timed iterations on the
config's model (random weights: speed does not depend on them) at the
sampling schedule ``model.test_cfg.patch_nums`` and the resolution it implies
(``patch_nums[-1] * tokenizer.downsample``):

* ``train_tf``: one teacher-forcing step, forward, loss and backward of the
  transformer on precomputed token maps (the tokenizer is timed on its own);
  ``optimizer_step``: the optimizer update that follows it;
* ``train_sar``: the same with SAR's stagger-scale rollout: the config's rollout
  and loss if it is a ``StaggerScaleRollout``, else that class's defaults (the
  effective official recipe) with ``ContrastiveStudentForcingLoss``. The
  timed TF and SAR steps alternate (one of each per round, after at least one
  warm-up step each, the first of which records the peak memory), and
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
``bf16`` / ``fp16`` run under ``torch.autocast`` (training through sar_mm's
``SkipNonFiniteAmpOptimWrapper``, fp16 with loss scaling, GPU only). The dense
``S x S`` matmul throughput of the same dtype is measured first; each phase
reports its analytic FLOPs (:mod:`sar_mm.benchmarking.flop_count`) per second
and as a fraction of it. Peak memory: resident set size on the CPU,
``max_memory_allocated`` on the GPU. Prints a table; ``--json`` also writes
every number.
"""
import argparse
import contextlib
import dataclasses
import json
import os
import platform
import statistics
import sys
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import OptimWrapper

from sar_mm.benchmarking import (PeakMemory, matmul_flops_per_s, sampling_flops, sar_step_flops,
                                 summarize_times, teacher_forcing_flops, time_calls,
                                 time_interleaved, transformer_dims,
                                 vq16_decode_flops, vq16_dims, vq16_encode_flops)
from sar_mm.engine.optim_wrappers import SkipNonFiniteAmpOptimWrapper
from sar_mm.models.losses import ContrastiveStudentForcingLoss, ScaleCrossEntropyLoss
from sar_mm.models.rollouts import StaggerScaleRollout, TeacherForcing
from sar_mm.models.utils.scale_layout import num_tokens
from sar_mm.registry import MODELS
from sar_mm.utils.cli_errors import add_debug_flag, run_cli
from sar_mm.utils.precision import resolve_precision
from sar_mm.utils.setup_env import register_all_modules

PHASE_GROUPS = ('train', 'sample', 'tokenizer')
DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}
AMP_NAMES = {'bf16': 'bfloat16', 'fp16': 'float16'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a sar_mm generator config')
    parser.add_argument('config', help='model config file')
    parser.add_argument('--what', default='train,sample,tokenizer',
                        help=f'comma-separated phase groups out of {",".join(PHASE_GROUPS)}')
    parser.add_argument('--batch-size', type=int, default=2, help='batch of every phase')
    parser.add_argument('--dtype', choices=['auto'] + sorted(DTYPES), default='auto',
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


def _autocast(device: torch.device, dtype: str) -> contextlib.AbstractContextManager:
    if dtype == 'fp32':
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype])


def _build_optim_wrapper(cfg: Config, model: torch.nn.Module, dtype: str,
                         device: torch.device) -> OptimWrapper:
    """The config's optimizer (AdamW otherwise) in the wrapper of ``dtype``."""
    opt_cfg = dict(cfg.get('optim_wrapper', {}).get('optimizer',
                                                    dict(type='AdamW', lr=1e-4,
                                                         betas=(0.9, 0.95))))
    opt_type = opt_cfg.pop('type')
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = getattr(torch.optim, opt_type)(params, **opt_cfg)
    if dtype == 'fp32':
        return OptimWrapper(optimizer)
    return SkipNonFiniteAmpOptimWrapper(optimizer, dtype=AMP_NAMES[dtype],
                                        device_type=device.type)


def _phase(stats, peak: PeakMemory, flops: Optional[int], peak_flops: float,
           items: int, **extra) -> Dict:
    """Result entry of one phase (``items`` samples per call)."""
    flops_per_s = None if flops is None else flops / stats.median
    return dict(time_s=stats.to_dict(), items_per_s=items / stats.median, flops=flops,
                flops_per_s=flops_per_s,
                peak_fraction=None if flops_per_s is None else flops_per_s / peak_flops,
                peak_memory_bytes=peak.peak_bytes, peak_memory_kind=peak.kind,
                peak_memory_since_reset=peak.since_reset, **extra)


def _timed(fn: Callable[[], object], args: argparse.Namespace, device: torch.device):
    with PeakMemory(device) as peak:
        stats = time_calls(fn, args.iters, args.warmup, device)
    return stats, peak


def _rollout_settings(rollout: object) -> Dict:
    settings = {k: v for k, v in vars(rollout).items() if isinstance(v, (int, float, str, bool))}
    selector = getattr(rollout, 'selector', None)
    if selector is not None:
        settings.update(token_selection=selector.mode, top_k=selector.top_k, top_p=selector.top_p)
    return dict(type=type(rollout).__name__, **settings)


def bench_train(model, cfg: Config, args, device, patch_nums, image_size, peak_flops) -> Dict:
    """``train_tf``, ``optimizer_step``, ``train_sar`` and ``sar_over_tf``."""
    B, dims = args.batch_size, transformer_dims(model.backbone)
    images = torch.rand(B, 3, image_size, image_size, device=device) * 2 - 1
    labels = torch.randint(0, model.backbone.num_classes, (B, ), device=device)
    with torch.no_grad():
        idx_list = model.tokenizer.img_to_idx(images, patch_nums)
    wrapper = _build_optim_wrapper(cfg, model, args.dtype, device)
    if isinstance(model.rollout, StaggerScaleRollout):
        sar_rollout, sar_loss = model.rollout, model.loss_module
        tf_rollout, tf_loss = TeacherForcing(), ScaleCrossEntropyLoss()
    else:
        sar_rollout, sar_loss = StaggerScaleRollout(), ContrastiveStudentForcingLoss()
        tf_rollout, tf_loss = model.rollout, model.loss_module
    model.train()

    def step(rollout, loss_module) -> None:
        wrapper.zero_grad()
        with wrapper.optim_context(model):
            out = rollout(model.backbone, model.tokenizer, labels, idx_list, patch_nums)
            loss, _ = model.parse_losses(loss_module(out))
        wrapper.backward(loss)

    def tf_step() -> None:
        step(tf_rollout, tf_loss)

    def sar_step() -> None:
        step(sar_rollout, sar_loss)

    # warm-up per phase (the first call records its peak memory), then timed rounds of
    # TF and SAR steps alternating, so that a drift of the machine's speed hits both alike
    peaks = {}
    for name, fn in (('train_tf', tf_step), ('train_sar', sar_step)):
        with PeakMemory(device) as peaks[name]:
            fn()
        for _ in range(args.warmup - 1):
            fn()
    rounds = time_interleaved({'train_tf': tf_step, 'train_sar': sar_step}, args.iters, device)
    results = {}
    results['train_tf'] = _phase(summarize_times(rounds['train_tf']), peaks['train_tf'],
                                 B * 3 * teacher_forcing_flops(dims, patch_nums),
                                 peak_flops, B, rollout=_rollout_settings(tf_rollout))
    flops = B * sar_step_flops(dims, patch_nums, sar_rollout.student_scales(len(patch_nums)),
                               sar_rollout.sf_context, uncond_pass=sar_rollout.rollout_cfg > 0)
    results['train_sar'] = _phase(summarize_times(rounds['train_sar']), peaks['train_sar'], flops,
                                  peak_flops, B, rollout=_rollout_settings(sar_rollout))
    results['sar_over_tf_rounds'] = [sar / tf for tf, sar in zip(rounds['train_tf'],
                                                                 rounds['train_sar'])]
    stats, peak = _timed(wrapper.step, args, device)
    results['optimizer_step'] = _phase(stats, peak, None, peak_flops, B,
                                       optimizer=type(wrapper.optimizer).__name__)
    wrapper.zero_grad()
    return results


def bench_sample(model, args, device, patch_nums, peak_flops) -> Dict:
    """``sample``: batched class-conditional generation with the config's ``test_cfg``."""
    B = args.batch_size
    labels = torch.arange(B, device=device) % model.backbone.num_classes
    generator = torch.Generator(device=device).manual_seed(args.seed)
    model.eval()

    def sample() -> None:
        # the sampler's own precision switch: an outer autocast would be turned off
        # by the model's numerics.precision (test_cfg.precision, fp32 by default)
        model.generate(labels, generator=generator, precision=args.dtype)

    stats, peak = _timed(sample, args, device)
    flops = sampling_flops(transformer_dims(model.backbone), patch_nums)
    vae = vq16_dims(model.tokenizer)
    flops = None if vae is None else B * (flops + vq16_decode_flops(vae, patch_nums[-1]))
    test_cfg = dict(dataclasses.asdict(model.sampling), **dataclasses.asdict(model.numerics))
    del test_cfg['patch_nums']
    test_cfg['precision'] = args.dtype
    return dict(sample=_phase(stats, peak, flops, peak_flops, B, test_cfg=test_cfg))


def bench_tokenizer(model, args, device, patch_nums, image_size, peak_flops) -> Dict:
    """``tokenizer_encode`` (``img_to_idx``) and ``tokenizer_decode`` (``decode_idx``)."""
    B, tok = args.batch_size, model.tokenizer
    images = torch.rand(B, 3, image_size, image_size, device=device) * 2 - 1
    vae = vq16_dims(tok)
    results = {}
    with torch.no_grad(), _autocast(device, args.dtype):
        idx_list = tok.img_to_idx(images, patch_nums)
        stats, peak = _timed(lambda: tok.img_to_idx(images, patch_nums), args, device)
        flops = None if vae is None else B * vq16_encode_flops(vae, image_size, patch_nums)
        results['tokenizer_encode'] = _phase(stats, peak, flops, peak_flops, B)
        stats, peak = _timed(lambda: tok.decode_idx(idx_list, patch_nums), args, device)
        flops = None if vae is None else B * vq16_decode_flops(vae, patch_nums[-1])
        results['tokenizer_decode'] = _phase(stats, peak, flops, peak_flops, B)
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
    requested = args.dtype
    precision = resolve_precision(requested, device.type)
    args.dtype = {v: k for k, v in DTYPES.items()}[precision.dtype]
    print(precision.describe(), flush=True)
    if args.dtype == 'fp16' and device.type != 'cuda':
        raise ValueError('--dtype fp16 (autocast with loss scaling) is for the GPU; use bf16 '
                         'on the CPU')
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model).to(device)
    patch_nums = list(model.sampling.patch_nums)
    image_size = patch_nums[-1] * model.tokenizer.downsample

    peak_flops = matmul_flops_per_s(DTYPES[args.dtype], device, args.peak_size)
    report = dict(
        config=args.config, cfg_options=args.cfg_options or {}, device=str(device),
        device_name=(torch.cuda.get_device_name(device) if device.type == 'cuda'
                     else platform.processor() or platform.machine()),
        dtype=args.dtype, dtype_requested=requested, precision_reason=precision.reason,
        batch_size=args.batch_size, iters=args.iters, warmup=args.warmup,
        threads=torch.get_num_threads(), torch=torch.__version__,
        load_avg_before=list(os.getloadavg()), patch_nums=patch_nums,
        num_tokens=num_tokens(patch_nums), image_size=image_size,
        matmul_peak=dict(size=args.peak_size, flops_per_s=peak_flops), phases={},
        sar_over_tf=None)
    if 'train' in args.groups:
        report['phases'].update(
            bench_train(model, cfg, args, device, patch_nums, image_size, peak_flops))
        rounds = report['phases'].pop('sar_over_tf_rounds')
        report['sar_over_tf_rounds'] = rounds
        report['sar_over_tf'] = statistics.median(rounds)
    if 'sample' in args.groups:
        report['phases'].update(bench_sample(model, args, device, patch_nums, peak_flops))
    if 'tokenizer' in args.groups:
        report['phases'].update(
            bench_tokenizer(model, args, device, patch_nums, image_size, peak_flops))
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
