"""The whole SAR pipeline on synthetic shapes, on a CPU, without downloads.

Usage:
    python tools/run_toy.py --work-dir work_dirs/toy [--quick] [--seeds 0 1 2]

A :class:`sar_mm.toy.Study` of two arms. Stages (``python -m sar_mm train`` runs of
``configs/toy``; a finished one is skipped, an interrupted one resumes): the
tokenizer, the toy classifier (the toy FID's feature extractor), the tokenizer's
cached latents, FlexVAR teacher-forcing pretraining, then per seed the
teacher-forcing continuation and SAR post-training from the pretrained checkpoint
with the same steps and seeds. Then, in this process, every model's samples, toy
FID / precision / recall, class accuracy, per-scale exposure bias and zero-shot
image-to-image (:func:`sar_mm.toy.evaluate_editing`), kept in ``eval/<run>.json``.

Outputs under the work directory: ``results.md`` and ``results.json`` (keys
documented in :func:`summarise`), ``grids/<run>_samples.png``,
``grids/<run>_scales.png``, ``grids/<run>_{inpaint,outpaint,edit}.png``,
``curves/*.png``, ``exposure_bias.png``.
"""
import argparse
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from sar_mm.evaluation.exposure_bias import EXPOSURE_BIAS_MODES, plot_exposure_bias
from sar_mm.evaluation.training_curves import (plot_training_curves, read_scalar_log,
                                               scalar_series)
from sar_mm.toy import log
from sar_mm.toy.arm_comparison import format_paired, paired
from sar_mm.toy.study import SAR_CONFIG, Arm, Study, finished_wall_s
from sar_mm.toy.toy_editing import EDIT_BOX, INPAINT_BOX
from sar_mm.utils.setup_env import register_all_modules

ARMS = (Arm('tf_continued', '+ teacher-forcing continuation', 'flexvar_tiny_shapes_tf.py',
            stage='flexvar_tiny_shapes_tf'),
        Arm('sar', '+ SAR post-training', SAR_CONFIG, stage='flexvar_tiny_shapes_sar'))
# Sizes of the two modes (the stages' --cfg-options are sar_mm.toy.TOY_MODES).
MODES = dict(
    full=dict(seeds=(0, 1, 2), samples_per_class=50, reference_images=1000,
              exposure_images=200, edit_images=200),
    quick=dict(seeds=(0, ), samples_per_class=10, reference_images=200, exposure_images=40,
               edit_images=20),
)


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
EDIT_SCALARS = ('edit_target_acc', 'edit_source_acc', 'inpaint_acc')
GROUPS = (('pretrained', 'FlexVAR after TF pretraining'), ) + tuple((a.name, a.title) for a in ARMS)


def summarise(runs: Dict[str, List[dict]], real: dict, settings: dict, recipe: dict,
              wall_s: dict, tokenizer: dict) -> dict:
    """results.json: ``settings``; ``recipe`` (the post-training iterations and
    the SAR rollout and loss); ``wall_s`` (seconds per training stage and per
    evaluation, as first run); ``tokenizer`` (its last codebook window and
    held-out reconstruction, :func:`sar_mm.toy.stages.tokenizer_health`);
    ``real`` (scores of held-out real images);
    ``summary[group]`` for ``pretrained``, ``tf_continued`` and ``sar``: each of
    ``fid``, ``class_acc``, ``isc``, ``precision``, ``recall`` as
    ``dict(mean, std, values)`` over seeds, and ``exposure_bias[mode]`` (modes
    ``chain`` and ``one_step``) with ``patch_nums`` and per-scale
    ``dict(mean, std)`` lists of ``tf_acc``, ``rollout_acc``, ``acc_gap``,
    ``tf_loss``, ``rollout_loss``; ``editing`` with ``edit_target_acc``,
    ``edit_source_acc`` and ``inpaint_acc`` as ``dict(mean, std, values)``
    (:func:`sar_mm.toy.evaluate_editing`); ``sar_minus_tf``: the paired
    difference of every scalar over seeds (:func:`sar_mm.toy.arm_comparison.paired`:
    ``n``, ``mean``, ``std``, ``values`` and, from 2 seeds on, the 95 % t interval
    ``ci_low``, ``ci_high``, ``excludes_zero`` and ``detectable``); ``runs``: every
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
        summary[group]['editing'] = {key: _stats([r['editing'][key] for r in results])
                                     for key in EDIT_SCALARS}
    sar_minus_tf = {key: paired([r[key] for r in runs['sar']],
                                [r[key] for r in runs['tf_continued']]) for key in SCALARS}
    return dict(settings=settings, recipe=recipe, wall_s=wall_s, tokenizer=tokenizer, real=real,
                summary=summary, sar_minus_tf=sar_minus_tf, runs=runs)


def _pm(stat: dict, digits: int = 2) -> str:
    return f'{stat["mean"]:.{digits}f} ± {stat["std"]:.{digits}f}'


def _tokenizer_lines(health: dict) -> List[str]:
    """The tokenizer's codebook usage and held-out PSNR per scale (what its config logged)."""
    parts = []
    if health['codebook'] is not None:
        c = health['codebook']
        parts.append(f'codebook usage {c["usage"]:.1f} %, perplexity {c["perplexity"]:.0f}, '
                     f'{c["dead_codes"]} dead codes (window ending at iteration {c["iter"]})')
    if health['reconstruction'] is not None:
        r = health['reconstruction']
        parts.append(f'PSNR of {r["num_images"]} held-out shapes per scale: ' + ', '.join(
            f'{pn}: {p:.2f} dB' for pn, p in zip(r['patch_nums'], r['psnr'])))
    return [f'Tokenizer: {"; ".join(parts)}.', ''] if parts else []


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
        *_tokenizer_lines(results['tokenizer']),
        '| model | FID ↓ | class acc (%) ↑ | IS (toy) ↑ | precision ↑ | recall ↑ |',
        '|---|---|---|---|---|---|',
        f'| real held-out images | {real["fid"]:.2f} | {real["class_acc"]:.1f} | '
        f'{real["isc"]:.2f} | {real["precision"]:.3f} | {real["recall"]:.3f} |']
    for group, title in GROUPS:
        g = s[group]
        lines.append(f'| {title} | {_pm(g["fid"])} | {_pm(g["class_acc"], 1)} | {_pm(g["isc"])} '
                     f'| {_pm(g["precision"], 3)} | {_pm(g["recall"], 3)} |')
    how = 'mean [95 % t interval]' if 'ci_low' in paired['fid'] else 'one seed, no interval'
    lines += ['', f'SAR − TF continuation, paired by seed ({how}): FID '
              f'{format_paired(paired["fid"])}, class acc {format_paired(paired["class_acc"], 1)} '
              f'pp, precision {format_paired(paired["precision"], 3)}, recall '
              f'{format_paired(paired["recall"], 3)}.']
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
    edit_side, inpaint_side = EDIT_BOX[2] - EDIT_BOX[0], INPAINT_BOX[2] - INPAINT_BOX[0]
    lines += ['', '## Zero-shot image-to-image: toy classifier accuracy (%)', '',
              f'{results["settings"]["edit_images"]} held-out images per seed (docs/method.md '
              f'§5.4). Class-conditional edit: the middle {edit_side} x {edit_side} px '
              'regenerated under another class (every other class about equally often), scored '
              'against the requested class and against the image\'s own class; in-painting: the '
              f'middle {inpaint_side} x {inpaint_side} px regenerated under the image\'s own '
              'class. Grids: `grids/<run>_{inpaint,outpaint,edit}.png`.', '',
              '| model | edit: requested class ↑ | edit: source class '
              '| in-painting: own class ↑ |', '|---|---|---|---|']
    for group, title in GROUPS:
        e = s[group]['editing']
        lines.append(f'| {title} | {_pm(e["edit_target_acc"], 1)} | '
                     f'{_pm(e["edit_source_acc"], 1)} | {_pm(e["inpaint_acc"], 1)} |')
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
    mode = dict(MODES['quick' if args.quick else 'full'])
    default_seeds = mode.pop('seeds')
    seeds = list(args.seeds or default_seeds)
    work_dir = Path(args.work_dir).resolve()
    study = Study(work_dir, ARMS, quick=args.quick, seeds=seeds, **mode)
    settings = dict(quick=args.quick, seeds=seeds, **mode)
    study.check_settings(settings)
    register_all_modules(init_default_scope=False)
    log(f'work dir {work_dir}; {"quick" if args.quick else "full"} mode, seeds {seeds}')
    done = study.run()
    wall_s = finished_wall_s(work_dir)
    for r in (r for group in done.runs.values() for r in group):
        wall_s.update({f'eval_{r["run"]}': r['wall_s'],
                       f'editing_{r["run"]}': r['editing']['wall_s']})
    results = summarise(done.runs, done.real, settings, done.recipe, wall_s,
                        done.tokenizer_health)
    (work_dir / 'results.json').write_text(json.dumps(results, indent=1))
    (work_dir / 'results.md').write_text(results_markdown(results))
    plot_exposure_bias({group: done.runs[group][0]['exposure_bias']['chain']
                        for group in ('tf_continued', 'sar')}, str(work_dir / 'exposure_bias.png'))
    plot_curves(work_dir, seeds)
    log(f'done; results in {work_dir / "results.md"}')
    print(results_markdown(results), flush=True)


if __name__ == '__main__':
    main()
