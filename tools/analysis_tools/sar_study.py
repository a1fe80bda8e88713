"""What SAR does to exposure bias at toy scale: post-training arms with paired intervals.

Usage:
    python tools/analysis_tools/sar_study.py --work-dir DIR [--quick] [--seeds 0 1 2 3 4]

Every arm post-trains the same teacher-forcing pretrained tiny FlexVAR of the
embedded pipeline (:mod:`sar_mm.toy`: tokenizer, classifier, cached latents and
pretraining are the stages of ``tools/run_toy.py``, and are reused when
``DIR`` holds a finished toy run of the same mode) for the same iterations, with
the same data order, scale schedules and sampling seeds for a given seed:

==============  ============================================================
``tf``          teacher-forcing continuation: the control
``sar``         SAR as the official scripts run it (``configs/toy/
                flexvar_tiny_shapes_sar.py``: last transition, Markovian
                student pass, teacher tokens sampled from CFG-guided logits,
                sigma 0.01)
``sar_sigma0.1``, ``sar_sigma1``   the same with sigma 0.1 / 1.0
``sar_all``     every transition in one block-causal student pass
                (``sf_scope='all'``, ``sf_context='full'``)
``sar_argmax``  arg-max teacher tokens without guidance (the scripts' flags)
``naive_sf``    the student pass trained towards the ground truth
                (``target='gt'``) instead of the teacher's prediction
==============  ============================================================

Each model is evaluated as in the toy pipeline (FID / precision / recall on
the toy classifier's features, class accuracy, per-scale teacher-forced versus
rolled-out token accuracy in the ``chain`` and ``one_step`` modes), and every
arm is compared with ``tf`` seed by seed
(:func:`sar_mm.evaluation.paired_stats.paired_difference`: mean difference,
95 % t interval, the effect the study detects with 80 % power). The pretrained
model is evaluated too, to show the size of the post-training effect itself.
Nothing is tuned on the evaluation samples: the arms are fixed in advance.

Outputs in ``DIR/study/``: ``study.json`` (every number), ``study.md`` (the
tables), ``study_gaps.png`` (per-scale gaps and their paired differences with
intervals), one folder per arm and seed, ``eval/<run>.json``. Every training
and every evaluation is resumable: rerun the same command after an interruption.
"""
import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.config import Config

from sar_mm.evaluation.exposure_bias import EXPOSURE_BIAS_MODES
from sar_mm.evaluation.paired_stats import paired_difference, paired_differences_per_scale
from sar_mm.toy import (TOY_CONFIGS, evaluate_model, log, prepare_pretrained_toy, real_images,
                        run_training, toy_metric)
from sar_mm.toy.toy_evaluation import EXPOSURE_SEED
from sar_mm.utils.cli_errors import add_debug_flag, run_cli
from sar_mm.utils.setup_env import register_all_modules


@dataclass(frozen=True)
class Arm:
    """One post-training recipe: a toy config and its ``--cfg-options``."""
    name: str
    title: str
    config: str
    options: Tuple[str, ...] = ()


SAR_CONFIG = 'flexvar_tiny_shapes_sar.py'
ARMS = (
    Arm('tf', 'TF continuation (control)', 'flexvar_tiny_shapes_tf.py'),
    Arm('sar', 'SAR, official effective recipe (sigma 0.01)', SAR_CONFIG),
    Arm('sar_sigma0.1', 'SAR, sigma 0.1', SAR_CONFIG, ('model.loss.sigma=0.1', )),
    Arm('sar_sigma1', 'SAR, sigma 1.0', SAR_CONFIG, ('model.loss.sigma=1.0', )),
    Arm('sar_all', 'SAR, every transition (sf_scope=all)', SAR_CONFIG,
        ('model.rollout.sf_scope=all', 'model.rollout.sf_context=full')),
    Arm('sar_argmax', 'SAR, arg-max rollout, no CFG', SAR_CONFIG,
        ('model.rollout.token_selection=argmax', 'model.rollout.rollout_cfg=0.0')),
    Arm('naive_sf', 'naive student forcing (target = ground truth)', SAR_CONFIG,
        ('model.rollout.target=gt', )),
)
CONTROL = 'tf'
SCALARS = ('fid', 'class_acc', 'precision', 'recall')

# The study's sizes. Full: 5 seeds; every post-training run is the toy's
# 1 epoch x 100 iterations of batch 64 (docs/sar_study.md explains the choice).
MODES = dict(
    full=dict(seeds=(0, 1, 2, 3, 4), samples_per_class=50, reference_images=1000,
              exposure_images=200),
    quick=dict(seeds=(0, 1), samples_per_class=5, reference_images=100, exposure_images=20),
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='SAR exposure-bias study on the toy pipeline')
    parser.add_argument('--work-dir', required=True,
                        help='directory of the toy stages (a finished tools/run_toy.py work '
                        'dir of the same mode is reused); the study goes to WORK_DIR/study')
    parser.add_argument('--quick', action='store_true',
                        help='smoke test: the toy quick stages, 2 seeds, tiny evaluation')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help='post-training seeds (default 0 1 2 3 4; --quick: 0 1)')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    if args.seeds is not None and len(set(args.seeds)) < 2:
        parser.error('paired intervals need at least 2 distinct seeds')
    return args


def check_settings(work_dir: Path, settings: dict) -> None:
    """Refuse to mix a study with stages or arms trained under other settings."""
    toy_settings = work_dir / 'settings.json'
    if toy_settings.is_file():
        quick = json.loads(toy_settings.read_text()).get('quick')
        if quick != settings['quick']:
            raise SystemExit(f'{work_dir} holds a {"--quick " if quick else ""}toy run and '
                             f'this study is {"" if settings["quick"] else "not "}--quick; '
                             'use another --work-dir')
    study_settings = work_dir / 'study' / 'settings.json'
    if study_settings.is_file() and json.loads(study_settings.read_text()) != settings:
        raise SystemExit(f'{work_dir / "study"} holds a study with other settings '
                         f'({study_settings.read_text()}); use another --work-dir')
    study_settings.parent.mkdir(parents=True, exist_ok=True)
    study_settings.write_text(json.dumps(settings))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def summarise(runs: Dict[str, List[dict]], train_wall_s: Dict[str, List[float]],
              settings: dict) -> dict:
    """Paired comparisons of every arm with the control.

    Args:
        runs: arm name (and ``'pretrained'``) -> one evaluation result per seed,
            in the order of ``settings['seeds']`` (keys of
            :func:`sar_mm.toy.evaluate_model`).
        train_wall_s: arm name -> post-training seconds per seed.
        settings: the study's settings (recorded).

    Returns:
        dict: ``settings``; ``arms[name]``: ``title``, per-scalar ``mean`` over
        seeds, ``vs_control`` (per scalar :class:`PairedDifference` as a dict;
        ``'pretrained'`` is compared the other way round, control minus
        pretrained, i.e. what post-training does), ``gap`` per mode with the
        mean per-scale ``acc_gap`` and ``acc_gap_vs_control`` per scale, and
        ``mean_gap_vs_control``, ``mean_rollout_acc_vs_control`` and
        ``mean_tf_acc_vs_control`` (the gap, rolled-out and teacher-forced
        accuracy averaged over scales 2..K), and ``cost_s`` (mean train and
        evaluation seconds per seed).
    """
    control = runs[CONTROL]
    titles = {arm.name: arm.title for arm in ARMS}
    titles['pretrained'] = 'pretrained (no post-training)'
    out = dict(settings=settings, control=CONTROL, arms={})
    for name, results in runs.items():
        if len(results) != len(control):
            raise ValueError(f'{name}: {len(results)} seeds, the control has {len(control)}')
        first, second = (control, results) if name == 'pretrained' else (results, control)
        entry = dict(title=titles[name],
                     mean={key: _mean([r[key] for r in results]) for key in SCALARS},
                     values={key: [r[key] for r in results] for key in SCALARS}, gap={})
        if name != CONTROL:
            entry['vs_control'] = {
                key: paired_difference([r[key] for r in first],
                                       [r[key] for r in second]).to_dict()
                for key in SCALARS}
        for mode in EXPOSURE_BIAS_MODES:
            gaps = [r['exposure_bias'][mode]['acc_gap'] for r in results]
            gap = dict(patch_nums=results[0]['exposure_bias'][mode]['patch_nums'],
                       acc_gap=[_mean(col) for col in zip(*gaps)])
            if name != CONTROL:
                first_gaps = [r['exposure_bias'][mode]['acc_gap'] for r in first]
                second_gaps = [r['exposure_bias'][mode]['acc_gap'] for r in second]
                gap['acc_gap_vs_control'] = [
                    d.to_dict() for d in paired_differences_per_scale(first_gaps, second_gaps)]
                # means over scales 2..K: the gap, and its two sides (a gap also
                # shrinks when teacher-forced accuracy falls)
                for key, out_key in (('acc_gap', 'mean_gap_vs_control'),
                                     ('rollout_acc', 'mean_rollout_acc_vs_control'),
                                     ('tf_acc', 'mean_tf_acc_vs_control')):
                    gap[out_key] = paired_difference(
                        [_mean(r['exposure_bias'][mode][key][1:]) for r in first],
                        [_mean(r['exposure_bias'][mode][key][1:]) for r in second]).to_dict()
            entry['gap'][mode] = gap
        entry['cost_s'] = dict(eval=_mean([r['wall_s'] for r in results]))
        if name in train_wall_s:
            entry['cost_s']['train'] = _mean(train_wall_s[name])
        out['arms'][name] = entry
    return out


def _ci(d: dict, digits: int = 2) -> str:
    return (f'{d["mean"]:+.{digits}f} [{d["ci_low"]:+.{digits}f}, {d["ci_high"]:+.{digits}f}]'
            + (' *' if d['excludes_zero'] else ''))


def study_markdown(summary: dict) -> str:
    """The tables of ``study.md``."""
    s = summary['settings']
    arms = summary['arms']
    lines = [
        '# SAR exposure-bias study (toy pipeline)', '',
        f'Seeds {", ".join(map(str, s["seeds"]))}; {s["post_iters"]} post-training iterations of '
        f'batch {s["batch_size"]} per run from the same pretrained checkpoint; '
        f'{s["samples_per_class"]} samples per class and {s["exposure_images"]} held-out images '
        'for the exposure bias per model. Differences are arm minus TF continuation, paired by '
        'seed: mean [95 % t interval]; * marks an interval that excludes 0. The pretrained row '
        'is TF continuation minus pretrained: the effect of post-training itself.', '',
        '| arm | FID | Δ FID | Δ class acc (pp) | Δ precision | Δ recall '
        '| Δ mean gap, chain (pp) | Δ mean rolled-out acc, chain (pp) '
        '| Δ mean gap, one-step (pp) | Δ mean rolled-out acc, one-step (pp) '
        '| train s / run | eval s / run |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, arm in arms.items():
        cost = arm['cost_s']
        train = f'{cost["train"]:.0f}' if 'train' in cost else '—'
        if name == summary['control']:
            cells = ['(control)'] * 8
        else:
            vs = arm['vs_control']
            cells = [_ci(vs['fid']), _ci(vs['class_acc'], 1), _ci(vs['precision'], 3),
                     _ci(vs['recall'], 3)]
            for mode in EXPOSURE_BIAS_MODES:
                cells += [_ci(arm['gap'][mode]['mean_gap_vs_control']),
                          _ci(arm['gap'][mode]['mean_rollout_acc_vs_control'])]
        lines.append(f'| {arm["title"]} | {arm["mean"]["fid"]:.2f} | ' + ' | '.join(cells)
                     + f' | {train} | {cost["eval"]:.0f} |')
    lines += ['', 'Smallest true difference each comparison detects with 80 % power (two-sided '
              'paired t-test at 5 %, from the measured spread of the differences):', '',
              '| arm | FID | class acc (pp) | mean gap, chain (pp) | mean rolled-out acc, chain '
              '(pp) | mean rolled-out acc, one-step (pp) |', '|---|---|---|---|---|---|']
    for name, arm in arms.items():
        if name == summary['control']:
            continue
        gap = arm['gap']
        lines.append(
            f'| {arm["title"]} | {arm["vs_control"]["fid"]["detectable"]:.2f} | '
            f'{arm["vs_control"]["class_acc"]["detectable"]:.1f} | '
            f'{gap["chain"]["mean_gap_vs_control"]["detectable"]:.2f} | '
            f'{gap["chain"]["mean_rollout_acc_vs_control"]["detectable"]:.2f} | '
            f'{gap["one_step"]["mean_rollout_acc_vs_control"]["detectable"]:.2f} |')
    if 'wall_s' in summary:
        wall = summary['wall_s']
        lines += ['', f'Cost as first run: toy stages {sum(wall["prestages"].values()):.0f} s, '
                  f'post-training {wall["post_training"]:.0f} s, evaluation '
                  f'{wall["evaluation"]:.0f} s, total {wall["total"] / 60:.1f} min.']
    for mode in EXPOSURE_BIAS_MODES:
        control_gap = arms[summary['control']]['gap'][mode]
        names = [n for n in arms if n != summary['control']]
        lines += ['', f'## Per-scale exposure-bias gap, `{mode}` (teacher-forced minus rolled-out '
                  'token accuracy, pp)', '',
                  '| scale | TF continuation gap | ' + ' | '.join(
                      f'Δ {arms[n]["title"]}' for n in names) + ' |',
                  '|---' * (2 + len(names)) + '|']
        for k, pn in enumerate(control_gap['patch_nums']):
            cells = [_ci(arms[n]['gap'][mode]['acc_gap_vs_control'][k], 1) for n in names]
            lines.append(f'| {pn} | {control_gap["acc_gap"][k]:.1f} | ' + ' | '.join(cells)
                         + ' |')
    return '\n'.join(lines) + '\n'


def plot_gaps(summary: dict, out_path: Path) -> None:
    """Per-scale gap of the control and pretrained models, and every arm's paired
    difference to the control with its 95 % interval, for both modes."""
    arms = summary['arms']
    fig = Figure(figsize=(12, 8), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 2, squeeze=False)
    names = [n for n in arms if n not in (summary['control'], 'pretrained')]
    for row, mode in enumerate(EXPOSURE_BIAS_MODES):
        patch_nums = arms[summary['control']]['gap'][mode]['patch_nums']
        x = list(range(len(patch_nums)))
        ax = axes[row][0]
        for name in (summary['control'], 'pretrained'):
            if name in arms:
                ax.plot(x, arms[name]['gap'][mode]['acc_gap'], marker='o',
                        label=arms[name]['title'])
        ax.set_title(f'{mode}: gap = teacher-forced - rolled-out token accuracy')
        ax.set_ylabel('pp')
        ax = axes[row][1]
        for i, name in enumerate(names):
            diffs = arms[name]['gap'][mode]['acc_gap_vs_control']
            offset = (i - (len(names) - 1) / 2) * 0.08
            means = [d['mean'] for d in diffs]
            ax.errorbar([v + offset for v in x], means,
                        yerr=[[m - d['ci_low'] for m, d in zip(means, diffs)],
                              [d['ci_high'] - m for m, d in zip(means, diffs)]],
                        marker='o', capsize=3, label=arms[name]['title'])
        ax.axhline(0.0, color='gray', linewidth=0.8)
        ax.set_title(f'{mode}: gap of arm - gap of TF continuation (95 % CI)')
        for ax in axes[row]:
            ax.set_xticks(x)
            ax.set_xticklabels([str(pn) for pn in patch_nums])
            ax.set_xlabel('scale (side of the token map)')
    axes[0][0].legend(fontsize=8)
    axes[0][1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(str(out_path))


def main(argv=None) -> dict:
    args = parse_args(argv)
    mode = MODES['quick' if args.quick else 'full']
    seeds = tuple(args.seeds) if args.seeds else mode['seeds']
    work_dir = Path(args.work_dir).resolve()
    study_dir = work_dir / 'study'
    settings = dict(quick=args.quick, seeds=list(seeds), arms=[a.name for a in ARMS],
                    samples_per_class=mode['samples_per_class'],
                    reference_images=mode['reference_images'],
                    exposure_images=mode['exposure_images'])
    check_settings(work_dir, settings)
    register_all_modules(init_default_scope=False)
    start = time.time()
    log(f'study in {study_dir}; {"quick" if args.quick else "full"} mode, seeds {list(seeds)}')
    toy = prepare_pretrained_toy(work_dir, args.quick)

    checkpoints = {}
    for s in seeds:
        common = toy.post_training_options(s)
        for arm in ARMS:
            rollout_seed = [f'model.rollout.seed={s}'] if arm.config == SAR_CONFIG else []
            checkpoints[(arm.name, s)] = run_training(
                study_dir, f'{arm.name}_seed{s}', arm.config,
                common + rollout_seed + list(arm.options), toy.pretrained)

    log('evaluation')
    metric = toy_metric(study_dir, toy.classifier, mode['reference_images'])
    exposure = real_images(EXPOSURE_SEED, mode['exposure_images'])
    runs = {'pretrained': []}
    runs.update({arm.name: [] for arm in ARMS})
    for s in seeds:
        runs['pretrained'].append(evaluate_model(
            study_dir, f'pretrained_seed{s}', 'flexvar_tiny_shapes_tf_pretrain.py',
            toy.pretrained, s, metric, exposure, mode['samples_per_class'], grids=False))
        for arm in ARMS:
            runs[arm.name].append(evaluate_model(
                study_dir, f'{arm.name}_seed{s}', arm.config, checkpoints[(arm.name, s)], s,
                metric, exposure, mode['samples_per_class'], grids=s == seeds[0]))

    train_wall_s = {arm.name: [json.loads((study_dir / f'{arm.name}_seed{s}' / 'finished.json')
                                          .read_text())['wall_s'] for s in seeds]
                    for arm in ARMS}
    log_rows = [json.loads(line)
                for path in (study_dir / f'tf_seed{seeds[0]}').glob('*/vis_data/scalars.json')
                for line in path.read_text().splitlines()]
    control_cfg = Config.fromfile(str(TOY_CONFIGS / ARMS[0].config))
    settings.update(post_iters=max(row['iter'] for row in log_rows if 'iter' in row),
                    batch_size=control_cfg.train_dataloader.batch_size)
    summary = summarise(runs, train_wall_s, settings)
    # the cost as first run, from the stages' markers (a rerun that reuses them is quick)
    summary['wall_s'] = dict(
        prestages={path.parent.name: json.loads(path.read_text())['wall_s']
                   for path in sorted(work_dir.glob('*/finished.json'))},
        post_training=sum(sum(v) for v in train_wall_s.values()),
        evaluation=sum(r['wall_s'] for results in runs.values() for r in results))
    summary['wall_s']['total'] = (sum(summary['wall_s']['prestages'].values())
                                  + summary['wall_s']['post_training']
                                  + summary['wall_s']['evaluation'])
    (study_dir / 'study.json').write_text(json.dumps(summary, indent=1))
    markdown = study_markdown(summary)
    (study_dir / 'study.md').write_text(markdown)
    plot_gaps(summary, study_dir / 'study_gaps.png')
    log(f'done in {time.time() - start:.0f} s; results in {study_dir / "study.md"}')
    print(markdown, flush=True)
    return summary


if __name__ == '__main__':
    sys.exit(run_cli(main))
