"""The report of the toy's exposure-bias study: ``study.md`` and ``study_gaps.png``.

Renders the output of :mod:`sar_mm.toy.arm_comparison` as written to ``study.json``
by ``tools/analysis_tools/sar_study.py``: the paired differences of every arm with
the control and their detectable effects, the verdict across pipeline runs, the
per-scale exposure-bias gaps.
"""
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sar_mm.evaluation.exposure_bias import EXPOSURE_BIAS_MODES
from .arm_comparison import format_paired

__all__ = ['verdict_markdown', 'study_markdown', 'plot_gaps']


def verdict_markdown(summary: dict) -> list:
    """The table of ``summary['across_pipelines']``
    (:func:`sar_mm.toy.arm_comparison.across_pipelines`)."""
    pipelines = len(summary['pipelines'])
    lines = ['', f'## Across {pipelines} pipeline runs', '',
             'Arm minus TF continuation in each pipeline run (its own tokenizer and pretraining) '
             'and pooled over the pairs (pipeline, seed); "holds" when every pipeline\'s interval '
             'excludes 0 on the pooled side.', '',
             '| arm | quantity | ' + ' | '.join(f'pipeline {k}' for k in range(pipelines))
             + ' | pooled | holds |', '|---' * (pipelines + 4) + '|']
    for name, quantities in summary['across_pipelines'].items():
        for quantity, v in quantities.items():
            holds = 'yes' if v['holds'] else (
                f'no ({v["significant"]}/{pipelines} exclude 0, '
                f'{"same sign" if v["same_sign"] else "not all on the pooled side"})')
            cells = [format_paired(d) for d in v['per_pipeline'] + [v['pooled']]]
            lines.append(f'| {summary["arms"][name]["title"]} | {quantity} | '
                         + ' | '.join(cells) + f' | {holds} |')
    return lines


def study_markdown(summary: dict) -> str:
    """The tables of ``study.md``."""
    s, arms, control = summary['settings'], summary['arms'], summary['control']
    pipelines = len(summary.get('pipelines', [None]))
    pairs = f'(pipeline, seed) of {pipelines} pipeline runs' if pipelines > 1 else 'seed'
    lines = [
        '# SAR exposure-bias study (toy pipeline)', '',
        f'Seeds {", ".join(map(str, s["seeds"]))}; {s["post_iters"]} post-training iterations of '
        f'batch {s["batch_size"]} per run from the same pretrained checkpoint; '
        f'{s["samples_per_class"]} samples per class and {s["exposure_images"]} held-out images '
        f'for the exposure bias per model. Differences are arm minus TF continuation, paired by '
        f'{pairs}: mean [95 % t interval]; * marks an interval that excludes 0. The pretrained '
        'row is TF continuation minus pretrained: the effect of post-training itself.', '',
        '| arm | FID | Δ FID | Δ class acc (pp) | Δ precision | Δ recall '
        '| Δ mean gap, chain (pp) | Δ mean rolled-out acc, chain (pp) '
        '| Δ mean gap, one-step (pp) | Δ mean rolled-out acc, one-step (pp) '
        '| train s / run | eval s / run |', '|---' * 12 + '|']
    detectable = ['', 'Smallest true difference each comparison detects with 80 % power '
                  '(two-sided paired t-test at 5 %, from the measured spread of the differences):',
                  '', '| arm | FID | class acc (pp) | mean gap, chain (pp) | mean rolled-out acc, '
                  'chain (pp) | mean rolled-out acc, one-step (pp) |', '|---' * 6 + '|']
    for name, arm in arms.items():
        cost, cells = arm['cost_s'], ['(control)'] * 8
        if name != control:
            gap = arm['gap']
            diffs = [(arm['vs_control'][key], digits) for key, digits in
                     (('fid', 2), ('class_acc', 1), ('precision', 3), ('recall', 3))]
            diffs += [(gap[mode][key], 2) for mode in EXPOSURE_BIAS_MODES
                      for key in ('mean_gap_vs_control', 'mean_rollout_acc_vs_control')]
            cells = [format_paired(d, digits) for d, digits in diffs]
            shown = [d for d, _ in diffs[:2] + diffs[4:6]] + [diffs[7][0]]
            detectable.append(f'| {arm["title"]} | ' + ' | '.join(
                f'{d["detectable"]:.{1 if i == 1 else 2}f}' for i, d in enumerate(shown)) + ' |')
        train = f'{cost["train"]:.0f}' if 'train' in cost else '—'
        lines.append(f'| {arm["title"]} | {arm["mean"]["fid"]:.2f} | ' + ' | '.join(cells)
                     + f' | {train} | {cost["eval"]:.0f} |')
    wall = summary['wall_s']
    lines += detectable + [
        '', f'Cost as first run: toy stages {sum(wall["prestages"].values()):.0f} s, '
        f'post-training {wall["post_training"]:.0f} s, evaluation {wall["evaluation"]:.0f} s, '
        f'total {wall["total"] / 60:.1f} min.']
    if pipelines > 1:
        lines += verdict_markdown(summary)
    names = [n for n in arms if n != control]
    for mode in EXPOSURE_BIAS_MODES:
        control_gap = arms[control]['gap'][mode]
        lines += ['', f'## Per-scale exposure-bias gap, `{mode}` (teacher-forced minus rolled-out '
                  'token accuracy, pp)', '', '| scale | TF continuation gap | '
                  + ' | '.join(f'Δ {arms[n]["title"]}' for n in names) + ' |',
                  '|---' * (2 + len(names)) + '|']
        for k, pn in enumerate(control_gap['patch_nums']):
            lines.append(f'| {pn} | {control_gap["acc_gap"][k]:.1f} | ' + ' | '.join(
                format_paired(arms[n]['gap'][mode]['acc_gap_vs_control'][k], 1) for n in names)
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
