"""One GPU check of sar_mm in at most ten minutes: training steps, memory, sampling, FID.

Usage (from a bare checkout; ``gpu_check.sh`` puts the repository on ``PYTHONPATH``)::

    bash tools/analysis_tools/gpu_check.sh [--out OUT.json] [--budget-s 580]
        [--parts train_d16,memory,sample,fid100] [--cpu-smoke]
    PYTHON=/path/to/python bash tools/analysis_tools/gpu_check.sh ...

Writes ONE JSON (``--out``, else ``$OUT/gpu_check.json``, else
``./gpu_check.json``): ``environment`` (torch, CUDA, cuDNN, device name and
memory, git commit), ``parts`` (per part ``status`` ``ok | failed | timeout``,
``wall_s``, ``limit_s`` and its results) and ``total_wall_s``. Parts, on CUDA:

* ``train_d16``: ``model.train_step`` of ``configs/sar/flexvar_d16_tf.py``
  (``tf``) and ``configs/sar/flexvar_d16_sar.py`` (``sar``) at batch 24 of
  512 px images: the config's optim wrapper (fp16 autocast + GradScaler, clip,
  AdamW), the tokenizer on 512 px in fp32, the transformer on the full schedule
  1..16 (680 tokens, the longest the random training schedule allows) instead
  of a random draw, so every step does the same work. ``s_per_step``,
  ``images_per_s``, peak memory (allocated and reserved, AdamW state
  included), ``sar_over_tf``; ``flops`` (the transformer's, forward and
  backward; the tokenizer's encoding is timed but not counted), ``flops_per_s``
  and ``peak_fraction``, its share of the dense matmul peak of the step's dtype.
* ``memory``: the same SAR step for ``d20``, ``d24``
  (``configs/sar/flexvar_d{20,24}_sar.py``, 512 px) and ``d30``
  (``configs/sar/var_d16_sar.py`` at depth 30: VAR-d30, the only released
  d30, 256 px), batch 24 each; an out-of-memory is recorded, not fatal.
* ``sample``: ``generate`` of ``configs/flexvar/flexvar_d16.py`` for 64 labels
  with their seeds, protocols ``exact`` and ``official``
  (:data:`~sar_mm.models.generators.scale_wise_ar.EVAL_PROTOCOLS`), each with
  ``batch_invariant`` True and False: ``images_per_s``, ``flops_per_s``,
  ``peak_fraction`` and the fraction of images bit-identical to ``exact`` with
  ``batch_invariant=True``.
* ``fid100``: ``tools/test.py --protocol official --save-npz`` on 100 samples
  of ``configs/flexvar/flexvar_d16.py`` with random weights, scored against
  100 random images with the tiny torch-fidelity extractor of
  :mod:`sar_mm.testing.tiny_feature_extractor`: no Inception weights are
  downloaded, so the value checks the path and is not an FID of anything.

The training steps and the sampling calls are timed by :mod:`sar_mm.benchmarking`
(:func:`~sar_mm.benchmarking.time_train_steps`,
:func:`~sar_mm.benchmarking.time_sampling`), as in ``benchmark.py``.

Weights are random (speed and memory do not depend on them). Each part runs in
its own process, killed with its process group after ``min(limit, time left
of --budget-s)``; what a part recorded before a timeout is kept. A failed part
keeps the tail of its output; the other parts still run. Exit status 0 when
every part is ``ok``. ``--cpu-smoke`` runs the same parts on the CPU with the
same configs shrunk (tokenizer and backbone of the same types, scales 1..8,
batch 2) in well under a minute (``tests/test_tools/test_gpu_check.py``).
"""
import argparse
import gc
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from PIL import Image

from sar_mm.models.utils.scale_layout import CANONICAL_PATCH_NUMS, num_tokens
from sar_mm.testing.tiny_components import tiny_component_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_PATCH_NUMS = (1, 2, 4, 8)

# Smoke stand-ins that keep each component's type (so its code path): sizes only.
TINY_TOKENIZERS, TINY_BACKBONES = tiny_component_settings(TINY_PATCH_NUMS)


@dataclass(frozen=True)
class Mode:
    """Sizes of one kind of run: the real GPU check or the CPU smoke."""
    name: str
    device: str
    tiny: bool
    patch_nums: tuple
    train_batch: int
    train_iters: int
    train_warmup: int
    memory_iters: int
    sample_batch: int
    sample_iters: int
    fid_images: int
    isc_splits: int
    peak_size: int


GPU = Mode('gpu', 'cuda', tiny=False, patch_nums=CANONICAL_PATCH_NUMS, train_batch=24,
           train_iters=5, train_warmup=2, memory_iters=2, sample_batch=64, sample_iters=2,
           fid_images=100, isc_splits=10, peak_size=4096)
SMOKE = Mode('cpu_smoke', 'cpu', tiny=True, patch_nums=TINY_PATCH_NUMS, train_batch=2,
             train_iters=2, train_warmup=1, memory_iters=1, sample_batch=4, sample_iters=1,
             fid_images=8, isc_splits=2, peak_size=256)

TRAIN_CONFIGS = dict(tf='configs/sar/flexvar_d16_tf.py', sar='configs/sar/flexvar_d16_sar.py')
MEMORY_CONFIGS = dict(
    d20=('configs/sar/flexvar_d20_sar.py', {}),
    d24=('configs/sar/flexvar_d24_sar.py', {}),
    d30=('configs/sar/var_d16_sar.py', {'model.backbone.depth': 30}),
)
EVAL_CONFIG = 'configs/flexvar/flexvar_d16.py'
# part -> time limit (s); the sum stays under the default budget
PART_LIMITS = dict(train_d16=120, memory=180, sample=150, fid100=120)


class Recorder:
    """A part's results, rewritten to its JSON file after every entry."""

    def __init__(self, path: Path) -> None:
        self.path, self.data = path, {}

    def __setitem__(self, key: str, value) -> None:
        self.data[key] = value
        tmp = self.path.with_suffix('.tmp')
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)


# --- building ----------------------------------------------------------------------------
def load_config(path: str, mode: Mode, options: Optional[dict] = None):
    """The config at ``path`` with ``options``, shrunk for the smoke run."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO_ROOT / path))
    if options:
        cfg.merge_from_dict(options)
    if mode.tiny:
        model = cfg.model
        model.tokenizer = dict(model.tokenizer, **TINY_TOKENIZERS[model.tokenizer.type])
        model.backbone = dict(model.backbone, **TINY_BACKBONES[model.backbone.type])
        model.test_cfg = dict(model.test_cfg, patch_nums=mode.patch_nums)
    return cfg


def build_model(cfg, device: torch.device):
    from sar_mm.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(cfg.model).to(device)


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def memory_entry(peak, device: torch.device) -> dict:
    entry = dict(peak_memory_bytes=peak.peak_bytes, peak_memory_kind=peak.kind)
    if device.type == 'cuda':
        entry['peak_memory_reserved_bytes'] = int(torch.cuda.max_memory_reserved(device))
    return entry


# --- parts -------------------------------------------------------------------------------
def measure_train(path: str, mode: Mode, iters: int, options: Optional[dict] = None) -> dict:
    """Timed ``train_step`` of one training config on the full fixed schedule."""
    from mmengine.optim import build_optim_wrapper

    from sar_mm.benchmarking import TrainRecipe, time_train_steps
    device = torch.device(mode.device)
    cfg = load_config(path, mode, options)
    cfg.model.scale_schedule = dict(type='FixedScaleSchedule', patch_nums=mode.patch_nums)
    start = time.perf_counter()
    model = build_model(cfg, device).train()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    build_s = time.perf_counter() - start
    # crop side = latent pixels per pixel of the last scale (2 at 512 px, 1 at 256 px)
    size = cfg.image_size // 256 * mode.patch_nums[-1] * model.tokenizer.downsample
    gen = torch.Generator().manual_seed(0)
    batch = mode.train_batch
    data = dict(
        inputs=torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8,
                             generator=gen).to(device),
        data_samples=dict(labels=torch.randint(0, model.backbone.num_classes, (batch, ),
                                               generator=gen).to(device)))
    timed = time_train_steps(model, wrapper, data,
                             dict(step=TrainRecipe(model.rollout, model.loss_module)), iters,
                             mode.train_warmup, mode.peak_size)['step']
    state_bytes = sum(t.numel() * t.element_size() for s in wrapper.optimizer.state.values()
                      for t in s.values() if torch.is_tensor(t))
    scaler = getattr(wrapper, 'loss_scaler', None)
    result = dict(
        config=path, options=options or {}, depth=model.backbone.depth,
        params=sum(p.numel() for p in model.backbone.parameters()), batch=batch,
        image_size=size, patch_nums=list(mode.patch_nums),
        tokens=num_tokens(mode.patch_nums), dtype=timed.precision.name,
        loss_scale=float(scaler.get_scale()) if scaler is not None and scaler.is_enabled()
        else None,
        build_s=build_s, s_per_step=timed.time_s.to_dict(), images_per_s=timed.items_per_s,
        flops=timed.flops, flops_per_s=timed.flops_per_s,
        matmul_peak_flops_per_s=timed.matmul_peak, peak_fraction=timed.peak_fraction,
        optimizer_state_bytes=state_bytes, loss=float(timed.last_output['loss']),
        **memory_entry(timed.peak_memory, device))
    del model, wrapper, data, timed
    release(device)
    return result


def part_train_d16(mode: Mode, out: Recorder, work: Path) -> None:
    for name, path in TRAIN_CONFIGS.items():
        out[name] = measure_train(path, mode, mode.train_iters)
    out['sar_over_tf'] = (out.data['sar']['s_per_step']['median']
                          / out.data['tf']['s_per_step']['median'])


def part_memory(mode: Mode, out: Recorder, work: Path) -> None:
    for name, (path, options) in MEMORY_CONFIGS.items():
        try:
            out[name] = measure_train(path, mode, mode.memory_iters, options)
        except torch.cuda.OutOfMemoryError as error:
            out[name] = dict(config=path, options=options, out_of_memory=str(error)[:500])
        release(torch.device(mode.device))  # after the handler: the traceback holds the model


def part_sample(mode: Mode, out: Recorder, work: Path) -> None:
    from sar_mm.benchmarking import time_sampling
    from sar_mm.models.generators.scale_wise_ar import protocol_test_cfg
    device = torch.device(mode.device)
    model = build_model(load_config(EVAL_CONFIG, mode), device).eval()
    batch = mode.sample_batch
    labels = torch.arange(batch, device=device) % model.backbone.num_classes
    seeds = list(range(batch))
    images = {}
    for protocol in ('exact', 'official'):
        for invariant in (True, False):
            name = f'{protocol}_batch_invariant_{invariant}'.lower()
            settings = dict(protocol_test_cfg(protocol, device.type), batch_invariant=invariant)
            model.generate(labels[:2], seeds=seeds[:2], **settings)  # warm-up
            timed = time_sampling(model, labels, mode.sample_iters, 0, seeds=seeds,
                                  peak_size=mode.peak_size, **settings)
            images[name] = timed.last_output['images']
            out[name] = dict(test_cfg=settings, batch=batch, s_per_batch=timed.time_s.to_dict(),
                             images_per_s=timed.items_per_s, dtype=timed.precision.name,
                             flops=timed.flops, flops_per_s=timed.flops_per_s,
                             matmul_peak_flops_per_s=timed.matmul_peak,
                             peak_fraction=timed.peak_fraction,
                             **memory_entry(timed.peak_memory, device))
    reference = images['exact_batch_invariant_true']
    out['identical_to_exact_batch_invariant'] = {
        name: (value == reference).flatten(1).all(1).float().mean().item()
        for name, value in images.items()}


def part_fid100(mode: Mode, out: Recorder, work: Path) -> None:
    from sar_mm.testing import tiny_feature_extractor
    device = torch.device(mode.device)
    cfg = load_config(EVAL_CONFIG, mode)
    model = build_model(cfg, device)
    checkpoint = work / 'fid_random_weights.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    size = mode.patch_nums[-1] * model.tokenizer.downsample
    del model
    release(device)
    reference = work / 'fid_reference'
    reference.mkdir()
    gen = torch.Generator().manual_seed(1)
    for i in range(mode.fid_images):
        image = torch.randint(0, 256, (size, size, 3), dtype=torch.uint8, generator=gen)
        Image.fromarray(image.numpy()).save(reference / f'{i:06d}.png')
    cfg.custom_imports = dict(imports=[tiny_feature_extractor.__name__],
                              allow_failed_imports=False)
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.dataset = dict(type='ClassLabelDataset', num_classes=mode.fid_images,
                                       samples_per_class=1, base_seed=0)
    cfg.test_evaluator = dict(type='TorchFidelityMetric', reference=str(reference),
                              feature_extractor=tiny_feature_extractor.TINY_EXTRACTOR,
                              isc_splits=mode.isc_splits)
    config = work / 'fid_config.py'
    cfg.dump(str(config))
    npz, metrics = work / 'fid_samples.npz', work / 'fid_metrics.json'
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), str(config), str(checkpoint),
               '--work-dir', str(work / 'fid_work_dir'), '--protocol', 'official',
               '--save-npz', str(npz), '--out', str(metrics), '--overwrite']  # a fresh measurement
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get('PYTHONPATH', '')]))
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=str(work), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f'tools/test.py failed ({done.returncode}):\n'
                           f'{(done.stdout + done.stderr)[-3000:]}')
    with np.load(npz) as data:
        shape = list(data['arr_0'].shape)
    out['images'] = mode.fid_images
    out['command'] = ('tools/test.py FID_CONFIG RANDOM_WEIGHTS --protocol official '
                      '--save-npz SAMPLES_NPZ')
    out['tool_wall_s'] = wall
    out['npz_shape'] = shape
    out['metrics'] = json.loads(metrics.read_text())['metrics']
    out['note'] = (f'random weights; features of the tiny extractor '
                   f'{tiny_feature_extractor.TINY_EXTRACTOR!r} '
                   f'({tiny_feature_extractor.__name__}), not Inception, whose weights are not '
                   'downloaded: the value checks sampling, scoring and the .npz, it is not an '
                   'FID of anything')


PARTS: Dict[str, Callable[[Mode, Recorder, Path], None]] = dict(
    train_d16=part_train_d16, memory=part_memory, sample=part_sample, fid100=part_fid100)


# --- orchestration -----------------------------------------------------------------------
def environment(mode: Mode) -> dict:
    env = dict(python=platform.python_version(), torch=torch.__version__,
               cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
               device=mode.device, threads=torch.get_num_threads())
    if mode.device == 'cuda' and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(device_name=props.name, device_memory_bytes=int(props.total_memory),
                   device_count=torch.cuda.device_count())
    else:
        env.update(device_name=platform.processor() or platform.machine())
    try:
        env['git_commit'] = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO_ROOT,
                                           capture_output=True, text=True,
                                           check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        env['git_commit'] = None
    return env


def run_part(name: str, mode: Mode, work: Path, limit: float) -> dict:
    """Run one part in its own process group; its record plus status and wall time."""
    record, log = work / f'{name}.json', work / f'{name}.log'
    command = [sys.executable, str(Path(__file__).resolve()), '--run-part', name,
               '--work-dir', str(work)] + (['--cpu-smoke'] if mode.tiny else [])
    start = time.perf_counter()
    with open(log, 'w', encoding='utf-8') as stream:
        proc = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            status = 'ok' if proc.wait(timeout=limit) == 0 else 'failed'
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the part and anything it started
            proc.wait()
            status = 'timeout'
    result = dict(status=status, wall_s=time.perf_counter() - start, limit_s=limit)
    if record.exists():
        result.update(json.loads(record.read_text()))
    if status != 'ok':
        result['log_tail'] = log.read_text(errors='replace')[-3000:]
    return result


def orchestrate(args: argparse.Namespace, mode: Mode) -> int:
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix='sar_mm_gpu_check_'))
    parts = {}
    try:
        for name in args.parts:
            left = args.budget_s - (time.perf_counter() - start)
            if left < 1:
                parts[name] = dict(status='timeout', wall_s=0.0, limit_s=0.0,
                                   log_tail='the budget was spent before this part')
                continue
            parts[name] = run_part(name, mode, work, min(PART_LIMITS[name], left))
            print(f'{name}: {parts[name]["status"]} in {parts[name]["wall_s"]:.1f} s', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = dict(tool='tools/analysis_tools/gpu_check.py', mode=mode.name,
                  environment=environment(mode), budget_s=args.budget_s, parts=parts,
                  total_wall_s=time.perf_counter() - start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {args.out} ({report["total_wall_s"]:.1f} s)')
    return 0 if all(p['status'] == 'ok' for p in parts.values()) else 1


def default_out() -> Path:
    return Path(os.environ['OUT'] if os.environ.get('OUT') else '.') / 'gpu_check.json'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='One GPU check of sar_mm (<= 10 min)')
    parser.add_argument('--out', type=Path, default=None,
                        help='the JSON report (default $OUT/gpu_check.json, else ./gpu_check.json)')
    parser.add_argument('--budget-s', type=float, default=580.0,
                        help='wall-clock budget of all parts together (seconds)')
    parser.add_argument('--parts', default=','.join(PARTS),
                        help=f'comma-separated parts out of {",".join(PARTS)}')
    parser.add_argument('--cpu-smoke', action='store_true',
                        help='every part on the CPU with tiny models (well under a minute)')
    parser.add_argument('--run-part', choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument('--work-dir', type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(',') if p]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown or not args.parts:
        parser.error(f'--parts takes parts out of {sorted(PARTS)}, got {unknown or "none"}')
    args.out = args.out or default_out()
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    mode = SMOKE if args.cpu_smoke else GPU
    if args.run_part is None:
        if mode.device == 'cuda' and not torch.cuda.is_available():
            raise SystemExit('no CUDA device: use --cpu-smoke for the CPU smoke run')
        return orchestrate(args, mode)
    from mmengine.registry import init_default_scope

    from sar_mm.utils.setup_env import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope('sar_mm')
    PARTS[args.run_part](mode, Recorder(args.work_dir / f'{args.run_part}.json'), args.work_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
