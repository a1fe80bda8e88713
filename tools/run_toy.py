"""The whole SAR pipeline on synthetic shapes, on a CPU, without downloads.

Usage:
    python tools/run_toy.py --work-dir work_dirs/toy [--quick] [--seeds 0 1 2]

Stages (each a ``tools/train.py`` subprocess on a config of ``configs/toy``):

1. ``vqvae_tiny_shapes``: the tokenizer (``VQTokenizerTrainer``);
2. ``classifier_tiny_shapes``: the classifier behind the toy FID, exported as a
   torch-fidelity feature extractor's weight file;
3. ``latents``: the frozen tokenizer's latents of the generators' training
   images, as is and mirrored (``tools/extract_latents.py``), so that the
   generator stages do not run the encoder at every step;
   ``flexvar_tiny_shapes_tf_pretrain``: FlexVAR teacher-forcing pretraining on
   them, starting from the tokenizer checkpoint;
4. per seed, ``flexvar_tiny_shapes_tf_seed{s}`` (teacher-forcing continuation)
   and ``flexvar_tiny_shapes_sar_seed{s}`` (SAR post-training) from the
   pretraining checkpoint, with the same steps and seeds;
5. evaluation, in this process: for every model and seed, class-conditional
   samples (same labels and sampling seeds for every model), FID / precision /
   recall on the toy classifier's features against held-out real images, the
   classifier's accuracy on the samples, and per-scale teacher-forced versus
   rolled-out token accuracy (:func:`sar_mm.evaluation.exposure_bias.measure_exposure_bias`);
   then sample grids, per-scale grids, loss curves and the results table.

Training runs as subprocesses so that the toy exercises the real
``tools/train.py`` (config merging, ``--resume auto``, checkpoint trust); the
evaluation runs in-process because it needs measurements ``tools/test.py``
does not make (exposure bias, per-scale grids, classifier accuracy) and loads
each model once for all of them.

Resuming: a finished stage leaves ``finished.json`` in its folder and is
skipped; an interrupted one is restarted with ``--resume auto`` and continues
from its last epoch checkpoint. Finished evaluations are kept in
``eval/<run>.json``.

Outputs under the work directory: ``results.md`` and ``results.json`` (keys
documented in :func:`summarise`), ``grids/<run>_samples.png`` and
``grids/<run>_scales.png``, ``curves/*.png``, ``exposure_bias.png``.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from sar_mm.apis import image_grid, init_generator, sample_images
from sar_mm.datasets import SyntheticShapesDataset
from sar_mm.evaluation import TorchFidelityMetric
from sar_mm.evaluation.exposure_bias import (EXPOSURE_BIAS_MODES, measure_exposure_bias,
                                             plot_exposure_bias)
from sar_mm.evaluation.shapes_feature_extractor import (export_shapes_classifier,
                                                        register_shapes_feature_extractor)
from sar_mm.evaluation.training_curves import (plot_training_curves, read_scalar_log,
                                               scalar_series)
from sar_mm.models.data_preprocessors import to_symmetric_range
from sar_mm.registry import MODELS
from sar_mm.utils.setup_env import register_all_modules

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / 'configs' / 'toy'
NUM_CLASSES = 10
# Data seeds: generators train on 0, the classifier on 1; the FID reference,
# the exposure-bias images and the real-data row use fresh seeds.
REFERENCE_SEED, EXPOSURE_SEED, REAL_ROW_SEED = 2, 3, 4

# Sizes of the two modes. ``train`` holds --cfg-options per stage; the full mode
# runs the configs as they are.
MODES = dict(
    full=dict(seeds=(0, 1, 2), samples_per_class=50, reference_images=1000,
              exposure_images=200, train=dict(tokenizer=[], classifier=[], pretrain=[],
                                              post=[])),
    quick=dict(
        seeds=(0, ), samples_per_class=10, reference_images=200, exposure_images=40,
        train=dict(
            tokenizer=['train_dataloader.dataset.num_samples=640', 'train_cfg.max_epochs=2'],
            classifier=['train_dataloader.dataset.num_samples=1280', 'train_cfg.max_epochs=2'],
            pretrain=['train_dataloader.dataset.source.num_samples=640',
                      'train_cfg.max_epochs=2'],
            post=['train_dataloader.dataset.source.num_samples=640',
                  'train_dataloader.dataset.indices=320', 'default_hooks.logger.interval=1'])),
)
# Grid samples: two per class, the same labels and seeds for every model.
GRID_LABELS = [c for c in range(NUM_CLASSES) for _ in range(2)]
GRID_SEEDS = list(range(len(GRID_LABELS)))

_START = time.time()


def log(message: str) -> None:
    elapsed = int(time.time() - _START)
    print(f'[run_toy {elapsed // 60:02d}:{elapsed % 60:02d}] {message}', flush=True)


# --- training stages ---------------------------------------------------------------------
def run_training(work_dir: Path, name: str, config: str, options: Sequence[str],
                 load_from: Optional[str] = None) -> str:
    """Train one stage with tools/train.py, or skip it when it has finished.

    Returns:
        str: the stage's final checkpoint.
    """
    stage_dir = work_dir / name
    marker = stage_dir / 'finished.json'
    if marker.is_file():
        checkpoint = json.loads(marker.read_text())['checkpoint']
        log(f'{name}: finished earlier, skipped ({checkpoint})')
        return checkpoint
    stage_dir.mkdir(parents=True, exist_ok=True)
    options = list(options) + ([f'load_from={load_from}'] if load_from else [])
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(CONFIGS / config),
           '--work-dir', str(stage_dir), '--resume', 'auto', '--trust-checkpoint', str(work_dir)]
    if options:
        cmd += ['--cfg-options', *options]
    log(f'{name}: training ({config}{", " + " ".join(options) if options else ""})')
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')]))
    start = time.time()
    with open(stage_dir / 'run_toy.log', 'a') as log_file:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log_file.write(line)
            if 'Epoch(train)' in line or 'Traceback' in line or 'Error' in line:
                log(f'{name}: {line.split(" - ")[-1].strip()[:160]}')
        returncode = proc.wait()
    if returncode != 0:
        raise SystemExit(f'{name} failed (exit {returncode}); see {stage_dir / "run_toy.log"}')
    checkpoint = (stage_dir / 'last_checkpoint').read_text().strip()
    marker.write_text(json.dumps(dict(checkpoint=checkpoint, wall_s=time.time() - start)))
    log(f'{name}: done in {time.time() - start:.0f} s')
    return checkpoint


def extract_latents(work_dir: Path, tokenizer: str, options: Sequence[str]) -> str:
    """Cache the tokenizer's latents of the pretraining images, or reuse the file.

    Returns:
        str: the latent file.
    """
    out = work_dir / 'latents' / 'shapes_train.npz'
    marker = out.parent / 'finished.json'
    if marker.is_file():
        log(f'latents: extracted earlier, reused ({out})')
        return str(out)
    cmd = [sys.executable, str(REPO / 'tools' / 'extract_latents.py'),
           str(CONFIGS / 'flexvar_tiny_shapes_tf_pretrain.py'), tokenizer, '--out', str(out),
           '--trust-checkpoint']
    if options:
        cmd += ['--cfg-options', *options]
    log('latents: encoding the training images with the frozen tokenizer')
    start = time.time()
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f'latent extraction failed (exit {result.returncode}):\n'
                         f'{result.stdout[-2000:]}{result.stderr[-2000:]}')
    marker.write_text(json.dumps(dict(latent_file=str(out), wall_s=time.time() - start)))
    log(f'latents: done in {time.time() - start:.0f} s')
    return str(out)


def export_classifier(work_dir: Path, checkpoint: str) -> str:
    """The classifier's weights as a torch-fidelity extractor file (tensors only)."""
    out = work_dir / 'classifier_tiny_shapes' / 'shapes_classifier.pth'
    if not out.is_file():
        cfg = Config.fromfile(str(CONFIGS / 'classifier_tiny_shapes.py'))
        classifier = MODELS.build(cfg.model)
        state = torch.load(checkpoint, map_location='cpu', weights_only=False)  # written here
        classifier.load_state_dict(state['state_dict'], strict=True)
        export_shapes_classifier(classifier, str(out))
    return str(out)


# --- evaluation --------------------------------------------------------------------------
def real_images(seed: int, num: int) -> tuple:
    """uint8 (num, 3, 32, 32) synthetic images of data seed ``seed`` and their labels."""
    dataset = SyntheticShapesDataset(num_samples=num, image_size=32, seed=seed)
    infos = [dataset.get_data_info(i) for i in range(num)]
    images = torch.from_numpy(np.stack([info['img'] for info in infos])).permute(0, 3, 1, 2)
    labels = torch.tensor([info['gt_label'] for info in infos], dtype=torch.long)
    return images.contiguous(), labels


def save_png(array: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def score_images(metric: TorchFidelityMetric, images: torch.Tensor,
                 labels: torch.Tensor) -> Dict[str, float]:
    """FID / IS / precision / recall on the toy features and the class accuracy."""
    chunks = [metric.extract_features(images[i:i + 256]) for i in range(0, len(images), 256)]
    features = {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}
    scores = metric.compute_from_features(features)
    accuracy = (features['logits'].argmax(dim=1) == labels).float().mean().item() * 100
    return dict(fid=float(scores['frechet_inception_distance']), class_acc=accuracy,
                isc=float(scores['inception_score_mean']), precision=float(scores['precision']),
                recall=float(scores['recall']))


def evaluate_run(work_dir: Path, run: str, config: str, checkpoint: str, seed: int,
                 metric: TorchFidelityMetric, exposure: tuple, samples_per_class: int) -> dict:
    """Samples, scores, exposure bias and grids of one model (cached in eval/<run>.json)."""
    out = work_dir / 'eval' / f'{run}.json'
    if out.is_file():
        log(f'eval {run}: finished earlier, skipped')
        return json.loads(out.read_text())
    start = time.time()
    generator = init_generator(str(CONFIGS / config), checkpoint, trust_checkpoint=True)
    num = NUM_CLASSES * samples_per_class
    labels = torch.arange(num) // samples_per_class
    seeds = [seed * num + i for i in range(num)]  # the same for every model of this seed
    images = []
    for i in range(0, num, 100):
        images.append(torch.from_numpy(sample_images(generator, labels[i:i + 100],
                                                     seeds=seeds[i:i + 100])).permute(0, 3, 1, 2))
        log(f'eval {run}: sampled {min(i + 100, num)}/{num}')
    result = dict(run=run, config=config, checkpoint=checkpoint, seed=seed, num_samples=num)
    result.update(score_images(metric, torch.cat(images), labels))
    exposure_inputs = to_symmetric_range(exposure[0])  # (N, 3, H, W) in [-1, 1]
    result['exposure_bias'] = {
        mode: measure_exposure_bias(generator, exposure_inputs, exposure[1], mode=mode)
        for mode in EXPOSURE_BIAS_MODES}
    final, scales = sample_images(generator, GRID_LABELS, seeds=GRID_SEEDS,
                                  return_scale_images=True)
    save_png(image_grid(final, nrow=10), work_dir / 'grids' / f'{run}_samples.png')
    save_png(image_grid(final[::2], [s[::2] for s in scales]),
             work_dir / 'grids' / f'{run}_scales.png')
    result['wall_s'] = time.time() - start
    out.write_text(json.dumps(result, indent=1))
    log(f'eval {run}: FID {result["fid"]:.2f}, class acc {result["class_acc"]:.1f}% '
        f'({result["wall_s"]:.0f} s)')
    return result


def evaluate_real(work_dir: Path, metric: TorchFidelityMetric, num: int) -> dict:
    """The scores of held-out real images: the floor of FID, the ceiling of accuracy."""
    out = work_dir / 'eval' / 'real.json'
    if out.is_file():
        return json.loads(out.read_text())
    images, labels = real_images(REAL_ROW_SEED, num)
    result = dict(run='real', num_samples=num, **score_images(metric, images, labels))
    out.write_text(json.dumps(result, indent=1))
    return result


# --- report ------------------------------------------------------------------------------
def _stats(values: Sequence[float]) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    return dict(mean=float(arr.mean()), std=float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
                values=[float(v) for v in arr])


def _per_scale_stats(results: Sequence[dict], mode: str, key: str) -> dict:
    rows = np.asarray([r['exposure_bias'][mode][key] for r in results], dtype=np.float64)
    return dict(mean=rows.mean(axis=0).tolist(),
                std=(rows.std(axis=0, ddof=1) if len(rows) > 1 else 0 * rows[0]).tolist())


SCALARS = ('fid', 'class_acc', 'isc', 'precision', 'recall')
GROUPS = (('pretrained', 'FlexVAR after TF pretraining'),
          ('tf_continued', '+ teacher-forcing continuation'), ('sar', '+ SAR post-training'))


def summarise(runs: Dict[str, List[dict]], real: dict, settings: dict, recipe: dict,
              wall_s: dict) -> dict:
    """results.json: ``settings``; ``recipe`` (the post-training iterations and
    the SAR rollout and loss); ``wall_s`` (seconds per training stage and per
    evaluation, as first run); ``real`` (scores of held-out real images);
    ``summary[group]`` for ``pretrained``, ``tf_continued`` and ``sar``: each of
    ``fid``, ``class_acc``, ``isc``, ``precision``, ``recall`` as
    ``dict(mean, std, values)`` over seeds, and ``exposure_bias[mode]`` (modes
    ``chain`` and ``one_step``) with ``patch_nums`` and per-scale
    ``dict(mean, std)`` lists of ``tf_acc``, ``rollout_acc``, ``acc_gap``,
    ``tf_loss``, ``rollout_loss``; ``sar_minus_tf``: per-seed paired
    differences of every scalar, ``dict(mean, std, values)``; ``runs``: every
    per-run result."""
    summary = {}
    for group, _ in GROUPS:
        results = runs[group]
        summary[group] = {key: _stats([r[key] for r in results]) for key in SCALARS}
        summary[group]['exposure_bias'] = {
            mode: dict(patch_nums=results[0]['exposure_bias'][mode]['patch_nums'],
                       **{key: _per_scale_stats(results, mode, key)
                          for key in ('tf_acc', 'rollout_acc', 'acc_gap', 'tf_loss',
                                      'rollout_loss')})
            for mode in EXPOSURE_BIAS_MODES}
    paired = {key: _stats([s[key] - t[key] for s, t in zip(runs['sar'], runs['tf_continued'])])
              for key in SCALARS}
    return dict(settings=settings, recipe=recipe, wall_s=wall_s, real=real, summary=summary,
                sar_minus_tf=paired, runs=runs)


def _pm(stat: dict, digits: int = 2) -> str:
    return f'{stat["mean"]:.{digits}f} ± {stat["std"]:.{digits}f}'


def results_markdown(results: dict) -> str:
    s, real, paired = results['summary'], results['real'], results['sar_minus_tf']
    n = len(results['settings']['seeds'])
    lines = [
        '# Toy SAR results', '',
        f'Synthetic shapes, 32 px, 10 classes; {results["settings"]["samples_per_class"]} '
        f'samples per class per seed; mean ± std over {n} seed(s) '
        f'({", ".join(map(str, results["settings"]["seeds"]))}). FID, precision and recall '
        'use the toy classifier\'s 64-d features against '
        f'{results["settings"]["reference_images"]} held-out real images; class acc is the '
        'toy classifier\'s accuracy on the samples.', '',
        f'Post-training: {results["recipe"]["post_iters"]} iterations of batch '
        f'{results["recipe"]["batch_size"]} from the same pretrained checkpoint for both runs of '
        f'a seed (same data order, schedules and seeds). SAR: {results["recipe"]["sar"]}.', '',
        '| model | FID ↓ | class acc (%) ↑ | IS (toy) ↑ | precision ↑ | recall ↑ |',
        '|---|---|---|---|---|---|',
        f'| real held-out images | {real["fid"]:.2f} | {real["class_acc"]:.1f} | '
        f'{real["isc"]:.2f} | {real["precision"]:.3f} | {real["recall"]:.3f} |']
    for group, title in GROUPS:
        g = s[group]
        lines.append(f'| {title} | {_pm(g["fid"])} | {_pm(g["class_acc"], 1)} | {_pm(g["isc"])} '
                     f'| {_pm(g["precision"], 3)} | {_pm(g["recall"], 3)} |')
    lines += ['', f'SAR − TF continuation, paired by seed: FID {_pm(paired["fid"])}, class acc '
              f'{_pm(paired["class_acc"], 1)} pp, precision {_pm(paired["precision"], 3)}, '
              f'recall {_pm(paired["recall"], 3)}.']
    for mode, what in (('chain', 'rolled out = the model continues from its own arg-max tokens '
                        'from the first scale on (inference regime, no CFG)'),
                       ('one_step', 'rolled out = every scale from the arg-max tokens of the '
                        'teacher-forced pass at the previous scale (one step of own errors)')):
        lines += ['', f'## Exposure bias, `{mode}`: token accuracy vs ground truth (%)', '',
                  f'{what}; {results["settings"]["exposure_images"]} held-out real images.', '',
                  '| scale | TF-cont. teacher-forced | TF-cont. rolled out | TF-cont. gap '
                  '| SAR teacher-forced | SAR rolled out | SAR gap |',
                  '|---|---|---|---|---|---|---|']
        tf_eb, sar_eb = s['tf_continued']['exposure_bias'][mode], s['sar']['exposure_bias'][mode]
        for k, pn in enumerate(tf_eb['patch_nums']):
            cells = []
            for eb in (tf_eb, sar_eb):
                for key in ('tf_acc', 'rollout_acc', 'acc_gap'):
                    cells.append(f'{eb[key]["mean"][k]:.1f} ± {eb[key]["std"][k]:.1f}')
            lines.append(f'| {pn} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot_curves(work_dir: Path, seeds: Sequence[int]) -> None:
    out = work_dir / 'curves'
    out.mkdir(exist_ok=True)
    tok = read_scalar_log(work_dir / 'vqvae_tiny_shapes')
    plot_training_curves({
        'reconstruction (L2)': {'loss_rec': scalar_series(tok, 'loss_rec')},
        'codebook / commitment': {k: scalar_series(tok, k)
                                  for k in ('loss_codebook', 'loss_commit')},
        'codebook usage per batch (%)': {'usage': scalar_series(tok, 'codebook_usage')},
    }, out / 'tokenizer.png', 'VQ tokenizer')
    clf = read_scalar_log(work_dir / 'classifier_tiny_shapes')
    plot_training_curves({'cross-entropy': {'loss_cls': scalar_series(clf, 'loss_cls')},
                          'accuracy (%)': {'train': scalar_series(clf, 'accuracy')}},
                         out / 'classifier.png', 'toy classifier')
    pre = read_scalar_log(work_dir / 'flexvar_tiny_shapes_tf_pretrain')
    plot_training_curves({'token cross-entropy': {'loss_ce': scalar_series(pre, 'loss_ce')},
                          'token accuracy (%)': {'acc': scalar_series(pre, 'acc')}},
                         out / 'tf_pretrain.png', 'FlexVAR teacher-forcing pretraining')
    ce, acc, student = {}, {}, {}
    for s in seeds:
        tf = read_scalar_log(work_dir / f'flexvar_tiny_shapes_tf_seed{s}')
        sar = read_scalar_log(work_dir / f'flexvar_tiny_shapes_sar_seed{s}')
        ce[f'TF seed {s}'] = scalar_series(tf, 'loss_ce')
        ce[f'SAR seed {s} (loss_tf)'] = scalar_series(sar, 'loss_tf')
        acc[f'TF seed {s}'] = scalar_series(tf, 'acc')
        acc[f'SAR seed {s} (acc_tf)'] = scalar_series(sar, 'acc_tf')
        student[f'SAR seed {s}'] = scalar_series(sar, 'ce_student')
    plot_training_curves({'teacher-forced CE': ce, 'teacher-forced acc (%)': acc,
                          'SAR student CE (unweighted)': student},
                         out / 'post_training.png', 'post-training: TF continuation vs SAR')


# --- main --------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Run the toy SAR pipeline end to end')
    parser.add_argument('--work-dir', default='work_dirs/toy', help='output directory')
    parser.add_argument('--quick', action='store_true',
                        help='fewer iterations, one seed, fewer samples (smoke test)')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='post-training seeds (default 0 1 2; --quick: 0)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    mode = MODES['quick' if args.quick else 'full']
    seeds = tuple(args.seeds) if args.seeds else mode['seeds']
    work_dir = Path(args.work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    settings = dict(quick=args.quick, seeds=list(seeds),
                    samples_per_class=mode['samples_per_class'],
                    reference_images=mode['reference_images'],
                    exposure_images=mode['exposure_images'])
    settings_file = work_dir / 'settings.json'
    if settings_file.is_file() and json.loads(settings_file.read_text()) != settings:
        raise SystemExit(f'{work_dir} holds a run with other settings '
                         f'({settings_file.read_text()}); use another --work-dir')
    settings_file.write_text(json.dumps(settings))
    register_all_modules(init_default_scope=False)
    train = mode['train']

    log(f'work dir {work_dir}; {"quick" if args.quick else "full"} mode, seeds {list(seeds)}')
    tokenizer = run_training(work_dir, 'vqvae_tiny_shapes', 'vqvae_tiny_shapes.py',
                             train['tokenizer'])
    classifier = export_classifier(work_dir, run_training(
        work_dir, 'classifier_tiny_shapes', 'classifier_tiny_shapes.py', train['classifier']))
    source = [o for o in train['pretrain'] if o.startswith('train_dataloader.dataset.source.')]
    latents = ['train_dataloader.dataset.latent_file=' + extract_latents(work_dir, tokenizer,
                                                                          source)]
    pretrained = run_training(work_dir, 'flexvar_tiny_shapes_tf_pretrain',
                              'flexvar_tiny_shapes_tf_pretrain.py', train['pretrain'] + latents,
                              tokenizer)
    post = {}
    for s in seeds:
        common = list(train['post']) + latents + [f'randomness.seed={s}',
                                                  f'model.scale_schedule.seed={s}']
        post[('tf_continued', s)] = ('flexvar_tiny_shapes_tf.py', run_training(
            work_dir, f'flexvar_tiny_shapes_tf_seed{s}', 'flexvar_tiny_shapes_tf.py', common,
            pretrained))
        post[('sar', s)] = ('flexvar_tiny_shapes_sar.py', run_training(
            work_dir, f'flexvar_tiny_shapes_sar_seed{s}', 'flexvar_tiny_shapes_sar.py',
            common + [f'model.rollout.seed={s}'], pretrained))

    log('evaluation')
    (work_dir / 'eval').mkdir(exist_ok=True)
    torch.manual_seed(0)
    reference = work_dir / 'eval' / 'reference.npz'
    if not reference.is_file():
        ref_images, _ = real_images(REFERENCE_SEED, mode['reference_images'])
        np.savez(reference, arr_0=ref_images.permute(0, 2, 3, 1).numpy())
    metric = TorchFidelityMetric(
        fid=True, isc=True, prc=True, reference=str(reference),
        feature_extractor=register_shapes_feature_extractor(),
        feature_extractor_weights_path=classifier, device='cpu')
    exposure = real_images(EXPOSURE_SEED, mode['exposure_images'])
    real = evaluate_real(work_dir, metric, NUM_CLASSES * mode['samples_per_class'])
    runs = {group: [] for group, _ in GROUPS}
    for s in seeds:
        runs['pretrained'].append(evaluate_run(
            work_dir, f'pretrained_seed{s}', 'flexvar_tiny_shapes_tf_pretrain.py', pretrained, s,
            metric, exposure, mode['samples_per_class']))
        for group in ('tf_continued', 'sar'):
            config, checkpoint = post[(group, s)]
            runs[group].append(evaluate_run(work_dir, f'{group}_seed{s}', config, checkpoint, s,
                                            metric, exposure, mode['samples_per_class']))

    sar_cfg = Config.fromfile(str(CONFIGS / 'flexvar_tiny_shapes_sar.py'))
    rollout = {k: v for k, v in sar_cfg.model.rollout.items() if k not in ('type', 'seed')}
    recipe = dict(
        post_iters=max(r['iter'] for r in read_scalar_log(
            work_dir / f'flexvar_tiny_shapes_sar_seed{seeds[0]}')),
        batch_size=sar_cfg.train_dataloader.batch_size,
        sar=f'{sar_cfg.model.rollout.type}({", ".join(f"{k}={v}" for k, v in rollout.items())})'
        f' + {sar_cfg.model.loss.type}(sigma={sar_cfg.model.loss.sigma})')
    wall_s = {path.parent.name: json.loads(path.read_text())['wall_s']
              for path in sorted(work_dir.glob('*/finished.json'))}
    wall_s.update({f'eval_{r["run"]}': r['wall_s'] for group in runs.values() for r in group})
    results = summarise(runs, real, settings, recipe, wall_s)
    (work_dir / 'results.json').write_text(json.dumps(results, indent=1))
    (work_dir / 'results.md').write_text(results_markdown(results))
    plot_exposure_bias({group: runs[group][0]['exposure_bias']['chain']
                        for group in ('tf_continued', 'sar')}, str(work_dir / 'exposure_bias.png'))
    plot_curves(work_dir, seeds)
    log(f'done; results in {work_dir / "results.md"}')
    print(results_markdown(results), flush=True)


if __name__ == '__main__':
    main()
